#!/usr/bin/env bash
# Starts the broker with a server.properties file, as Kafka's bin/kafka-server-start.sh does:
# a 1 GiB heap and the broker's logging (INFO on stdout) unless the variables say otherwise.
#
# Usage: kafka-server-start.sh SERVER.PROPERTIES
#
# Environment:
#   KAFKA_HEAP_OPTS, KAFKA_LOG4J_OPTS  as for kafka-run-class.sh, with the broker's defaults
set -o errexit -o nounset -o pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

main() {
  if [[ $# -lt 1 ]]; then
    echo "usage: kafka-server-start.sh SERVER.PROPERTIES" >&2
    exit 2
  fi
  export KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G}
  export KAFKA_LOG4J_OPTS=${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=/etc/kafka/docker/log4j2.yaml}
  exec "$script_dir/kafka-run-class.sh" kafka.Kafka "$@"
}

main "$@"
