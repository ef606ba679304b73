#!/usr/bin/env bash
# Kafka's storage tool (format, info, random-uuid), as bin/kafka-storage.sh.
#
# Usage: kafka-storage.sh COMMAND [ARGS...]   (kafka-storage.sh --help lists them)
#
# Environment: as for kafka-run-class.sh
set -o errexit -o nounset -o pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

main() {
  exec "$script_dir/kafka-run-class.sh" kafka.tools.StorageTool "$@"
}

main "$@"
