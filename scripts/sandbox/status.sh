#!/usr/bin/env bash
# Says what of the sandbox runs, where its logs are, and how to point kubectl at it.
# Exits 0 when every component runs, 1 when the sandbox is down or partly stopped.
#
# Usage: scripts/sandbox/status.sh [--help]
#
# Environment:
#   TODO_SANDBOX_HOME, TODO_SANDBOX_DIR  as for up.sh
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

usage() {
  cat <<EOF
Usage: scripts/sandbox/status.sh [--help]

Lists the sandbox's processes with their PIDs, memory and logs, then the node and the
namespaces when the API answers.
EOF
}

rss_mib() {
  awk '/^VmRSS:/ {printf "%d", $2 / 1024}' "/proc/$1/status" 2>/dev/null
}

main() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      -h|--help) usage; return ;;
      *) log::die "unknown argument '$1' (see --help)" 2 ;;
    esac
  done

  local running=0 total_rss=0 name pid rss components count
  count=$(sandbox_node_count)
  mapfile -t components < <(sandbox_components "$count")
  printf '%-26s %-8s %-8s %-8s %s\n' COMPONENT STATE PID RSS_MIB LOG
  for name in "${components[@]}"; do
    if pid=$(component_pid "$name"); then
      rss=$(rss_mib "$pid")
      total_rss=$((total_rss + ${rss:-0}))
      running=$((running + 1))
      printf '%-26s %-8s %-8s %-8s %s\n' "$name" running "$pid" "${rss:-?}" "$sandbox_logs/$name.log"
    else
      printf '%-26s %-8s %-8s %-8s %s\n' "$name" stopped - - "$sandbox_logs/$name.log"
    fi
  done
  echo
  if ((running == 0)); then
    echo "The sandbox is down. Start it with: npm run sandbox:up"
    return 1
  fi
  echo "Memory of the sandbox's processes (RSS): ${total_rss} MiB"
  local pods_cgroup="/sys/fs/cgroup/memory/$sandbox_cgroup_root"
  if [[ -f "$pods_cgroup/memory.usage_in_bytes" ]]; then
    # The pods' containers and their pause processes, as the kernel counts them (page cache included).
    echo "Memory of the nodes' pods (cgroup /$sandbox_cgroup_root): $(($(<"$pods_cgroup/memory.usage_in_bytes") / 1048576)) MiB"
  fi
  echo "API server: https://$sandbox_bridge_ip:$TODO_SANDBOX_API_PORT"
  echo "Registry:   http://$sandbox_registry_address (push with --tls-verify=false)"
  local node
  for ((node = 1; node <= count; node++)); do
    echo "Node:       $(sandbox_node_name "$node") at $(sandbox_node_ip "$node") (network namespace $(sandbox_node_netns "$node"), zone $(sandbox_node_zone "$node")); NodePorts answer there"
  done
  echo "Use it with: export KUBECONFIG=$sandbox_kubeconfig"
  echo "             export PATH=$TODO_SANDBOX_HOME/bin:\$PATH"
  if sandbox_kubectl get --raw /readyz >/dev/null 2>&1; then
    echo
    sandbox_kubectl get nodes -o wide
    echo
    sandbox_kubectl get namespaces
  fi
  if ((running < ${#components[@]})); then
    echo
    echo "Some components are stopped. Clear the sandbox with 'npm run sandbox:down', then run 'npm run sandbox:up'."
    return 1
  fi
}

main "$@"
