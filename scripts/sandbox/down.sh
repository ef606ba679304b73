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

  if [[ "$(sandbox_runtime)" == containerd ]]; then
    down_with_node
    return
  fi

  # The host runtime first (it stops the pod processes it started, with their grace
  # periods), then any pod process still recorded, then the rest in reverse start order.
  local order=(host-runtime) name index
  for name in "$sandbox_pids"/*.pid; do
    [[ -e "$name" ]] || continue
    name=$(basename "$name" .pid)
    [[ " ${sandbox_components[*]} " == *" $name "* ]] || order+=("$name")
  done
  for ((index = ${#sandbox_components[@]} - 1; index >= 0; index--)); do
    [[ "${sandbox_components[index]}" == host-runtime ]] || order+=("${sandbox_components[index]}")
  done

  local stopped=0
  for name in "${order[@]}"; do
    if component_pid "$name" >/dev/null; then
      log::info "stopping $name"
      stopped=$((stopped + 1))
    fi
    # The host runtime waits up to 10 s for each pod to stop.
    if [[ "$name" == host-runtime ]]; then stop_component "$name" 20; else stop_component "$name"; fi
  done

  # Keep the logs for a post-mortem; everything else goes.
  find "$TODO_SANDBOX_DIR" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +
  log::info "sandbox down: $stopped process(es) stopped; logs kept in $sandbox_logs"
}

# The node first (its pods, processes, mounts, cgroups and kernel settings), then the
# control plane, the registry and PostgreSQL, then the network.
down_with_node() {
  local stopped=0 name index
  for name in "${containerd_runtime_components[@]}"; do
    component_pid "$name" >/dev/null && stopped=$((stopped + 1))
  done
  log::info "stopping the node (pods, kube-proxy, kubelet, containerd)"
  node::stop
  for ((index = ${#containerd_runtime_components[@]} - 1; index >= 0; index--)); do
    name=${containerd_runtime_components[index]}
    case "$name" in containerd|kubelet|kube-proxy) continue ;; esac
    component_pid "$name" >/dev/null && log::info "stopping $name"
    stop_component "$name"
  done
  node::network_down
  find "$TODO_SANDBOX_DIR" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +
  log::info "sandbox down: $stopped process(es) stopped; network, mounts and cgroups removed; logs kept in $sandbox_logs"
}

main "$@"
