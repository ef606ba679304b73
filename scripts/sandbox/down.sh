#!/usr/bin/env bash
# Stops the sandbox: exactly the processes it started (by recorded PID and start time,
# never by name), then removes its state. Logs stay in <sandbox dir>/logs. Safe to run
# twice, and on a sandbox that crashed half-way.
#
# Usage: scripts/sandbox/down.sh [--help]
#
# Environment:
#   TODO_SANDBOX_HOME, TODO_SANDBOX_DIR  as for up.sh
#   CI, NO_COLOR                         plain output
set -o errexit -o nounset -o pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/log.sh
source "$script_dir/../lib/log.sh"
# shellcheck source=scripts/sandbox/versions.env
source "$script_dir/versions.env"
# shellcheck source=scripts/sandbox/tools.sh
source "$script_dir/tools.sh"
# shellcheck source=scripts/sandbox/common.sh
source "$script_dir/common.sh"
# shellcheck source=scripts/sandbox/node/node.sh
source "$script_dir/node/node.sh"

usage() {
  cat <<EOF
Usage: scripts/sandbox/down.sh [--help]

Stops every process the sandbox started and removes its state from $TODO_SANDBOX_DIR
(logs are kept in $sandbox_logs).
EOF
}

main() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      -h|--help) usage; return ;;
      *) log::die "unknown argument '$1' (see --help)" 2 ;;
    esac
  done

  if [[ ! -d "$TODO_SANDBOX_DIR" ]]; then
    log::info "no sandbox at $TODO_SANDBOX_DIR; nothing to stop"
    return
  fi

  down_with_node
}

# The nodes first (their pods, processes, mounts, cgroups and kernel settings), then the
# control plane, the registry and PostgreSQL, then the network.
down_with_node() {
  local stopped=0 name index components count
  count=$(sandbox_node_count)
  mapfile -t components < <(sandbox_components "$count")
  for name in "${components[@]}"; do
    component_pid "$name" >/dev/null && stopped=$((stopped + 1))
  done
  # The network, the node's mounts, cgroups and kernel settings are this directory's only
  # when its `up` got as far as making them; another sandbox may use the same link names.
  local made_node=''
  [[ -f "$TODO_SANDBOX_DIR/preexisting-paths" ]] && made_node=1
  if [[ -n "$made_node" ]]; then
    log::info "stopping $count node(s) (pods, kube-proxy, kubelet, containerd)"
    nodes::stop "$count"
  fi
  for ((index = ${#components[@]} - 1; index >= 0; index--)); do
    name=${components[index]}
    component_pid "$name" >/dev/null && log::info "stopping $name"
    stop_component "$name"
  done
  [[ -z "$made_node" ]] || nodes::network_down
  find "$TODO_SANDBOX_DIR" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +
  log::info "sandbox down: $stopped process(es) stopped; network, mounts and cgroups removed; logs kept in $sandbox_logs"
}

main "$@"
