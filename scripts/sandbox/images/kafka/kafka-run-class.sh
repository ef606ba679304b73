#!/usr/bin/env bash
# Runs a Kafka class on the image's Java runtime with Kafka's jars, as Kafka's own
# bin/kafka-run-class.sh does, with the heap, JVM and log4j options from the usual variables.
#
# Usage: kafka-run-class.sh CLASS [ARGS...]
#
# Environment:
#   KAFKA_HEAP_OPTS             heap flags (default -Xmx256M)
#   KAFKA_JVM_PERFORMANCE_OPTS  GC and JIT flags (default: Kafka's G1 settings)
#   KAFKA_LOG4J_OPTS            log4j flags (default: the tools' configuration, warnings on stderr)
#   KAFKA_OPTS                  any further JVM flags
set -o errexit -o nounset -o pipefail

readonly kafka_home=/opt/kafka
readonly default_performance_opts='-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true'

main() {
  if [[ $# -lt 1 ]]; then
    echo "usage: kafka-run-class.sh CLASS [ARGS...]" >&2
    exit 2
  fi
  # Each variable holds a list of flags, as with Kafka's script.
  local -a heap performance log4j extra
  read -r -a heap <<<"${KAFKA_HEAP_OPTS:--Xmx256M}"
  read -r -a performance <<<"${KAFKA_JVM_PERFORMANCE_OPTS:-$default_performance_opts}"
  read -r -a log4j <<<"${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=/etc/kafka/docker/tools-log4j2.yaml}"
  read -r -a extra <<<"${KAFKA_OPTS:-}"
  exec java "${heap[@]}" "${performance[@]}" "${log4j[@]}" "-Dkafka.logs.dir=$kafka_home/logs" \
    "${extra[@]}" -cp "$kafka_home/libs/*" "$@"
}

main "$@"
