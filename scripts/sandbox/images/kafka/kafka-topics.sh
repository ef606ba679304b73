#!/usr/bin/env bash
# Kafka's topic tool, as bin/kafka-topics.sh; the chart's topic Job and helm test run it.
#
# Usage: kafka-topics.sh --bootstrap-server HOST:PORT (--create|--describe|--list|...) [...]
#        (kafka-topics.sh --help lists the options)
#
# Environment: as for kafka-run-class.sh
set -o errexit -o nounset -o pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

main() {
  exec "$script_dir/kafka-run-class.sh" org.apache.kafka.tools.TopicCommand "$@"
}

main "$@"
