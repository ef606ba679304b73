#!/usr/bin/env bash
# The sandbox's stand-in for the apache/kafka image: its entrypoints, run on the host with
# the Kafka jars from the tool cache. `run` does what the image's start script does: turn
# the KAFKA_* variables into server.properties, format the KRaft storage once, start the
# broker. `topics` is the image's /opt/kafka/bin/kafka-topics.sh.
#
# Usage: kafka.sh SANDBOX_HOME run
#        kafka.sh SANDBOX_HOME topics ARGS...
#
# Environment (set by the host runtime from the pod):
#   KAFKA_*                    broker settings, named as the image reads them
#   CLUSTER_ID                 the KRaft cluster id to format the storage with
#   SANDBOX_HOST_PORT_<port>   the host port that stands for each container port
#   SANDBOX_POD_DIR            the pod's directory on the host
set -o errexit -o nounset -o pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TODO_SANDBOX_HOME=$1
shift
# shellcheck source=scripts/sandbox/versions.env
source "$script_dir/../versions.env"
# shellcheck source=scripts/sandbox/tools.sh
source "$script_dir/../tools.sh"

kafka_home=$(tool_dir kafka)
classpath="$kafka_home/libs/*"
log4j="-Dlog4j2.configurationFile=$kafka_home/log4j2.yaml"

# KAFKA_FOO_BAR -> foo.bar, KAFKA_FOO__BAR -> foo_bar, KAFKA_FOO___BAR -> foo-bar.
property_name() {
  local name=${1#KAFKA_}
  name=${name//___/-}
  name=${name//__/@}
  name=${name//_/.}
  name=${name//@/_}
  echo "${name,,}"
}

# PLAINTEXT://:9092,CONTROLLER://:9093 -> each listener bound to its host port on 127.0.0.1.
bind_listeners() {
  local listeners=$1 result='' entry
  IFS=, read -r -a entries <<<"$listeners"
  for entry in "${entries[@]}"; do
    local name=${entry%%://*} port=${entry##*:}
    local variable="SANDBOX_HOST_PORT_$port"
    [[ -n "${!variable:-}" ]] || { echo "kafka: no host port for listener $entry" >&2; exit 1; }
    result+="${result:+,}$name://127.0.0.1:${!variable}"
  done
  echo "$result"
}

write_properties() {
  local file=$1 variable
  : >"$file"
  while IFS='=' read -r variable _; do
    case "$variable" in
      KAFKA_HEAP_OPTS|KAFKA_OPTS|KAFKA_JVM_PERFORMANCE_OPTS|KAFKA_LOG4J_OPTS|KAFKA_GC_LOG_OPTS|KAFKA_JMX_OPTS|KAFKA_DEBUG|KAFKA_VERSION) continue ;;
      KAFKA_*) ;;
      *) continue ;;
    esac
    local value=${!variable}
    local name; name=$(property_name "$variable")
    [[ "$name" == listeners ]] && value=$(bind_listeners "$value")
    echo "$name=$value" >>"$file"
  done < <(env | grep -E '^KAFKA_[A-Z0-9_]+=' | sort)
}

run_broker() {
  [[ -n "${CLUSTER_ID:-}" ]] || { echo "kafka: CLUSTER_ID is not set" >&2; exit 1; }
  local properties="$SANDBOX_POD_DIR/server.properties"
  write_properties "$properties"
  # shellcheck disable=SC2086  # the heap options are a list of JVM flags
  java ${KAFKA_HEAP_OPTS:--Xmx512m} "$log4j" -cp "$classpath" kafka.tools.StorageTool \
    format --ignore-formatted --cluster-id "$CLUSTER_ID" --config "$properties"
  # shellcheck disable=SC2086  # as above
  exec java ${KAFKA_HEAP_OPTS:--Xmx512m} "$log4j" -cp "$classpath" kafka.Kafka "$properties"
}

run_tool() {
  # shellcheck disable=SC2086  # the heap options are a list of JVM flags
  exec java ${KAFKA_HEAP_OPTS:--Xmx256m} "$log4j" -cp "$classpath" "$@"
}

main() {
  local command=${1:-}
  shift || true
  case "$command" in
    run) run_broker ;;
    topics) run_tool org.apache.kafka.tools.TopicCommand "$@" ;;
    *) echo "usage: kafka.sh SANDBOX_HOME run|topics [ARGS...]" >&2; exit 2 ;;
  esac
}

main "$@"
