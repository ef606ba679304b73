#!/usr/bin/env bash
# Paths, ports and process bookkeeping shared by the sandbox's up, down and status scripts.
# Sourced; expects scripts/lib/log.sh, versions.env and tools.sh to be sourced first.
# shellcheck disable=SC2034  # the names below are read by the scripts that source this file

sandbox_repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

TODO_SANDBOX_DIR=${TODO_SANDBOX_DIR:-$sandbox_repo_root/.sandbox}
TODO_SANDBOX_ETCD_PORT=${TODO_SANDBOX_ETCD_PORT:-23790}
TODO_SANDBOX_ETCD_PEER_PORT=${TODO_SANDBOX_ETCD_PEER_PORT:-23800}
TODO_SANDBOX_API_PORT=${TODO_SANDBOX_API_PORT:-16443}
TODO_SANDBOX_KCM_PORT=${TODO_SANDBOX_KCM_PORT:-20257}
TODO_SANDBOX_SCHEDULER_PORT=${TODO_SANDBOX_SCHEDULER_PORT:-20259}
TODO_SANDBOX_POSTGRES_PORT=${TODO_SANDBOX_POSTGRES_PORT:-25432}
TODO_SANDBOX_REGISTRY_PORT=${TODO_SANDBOX_REGISTRY_PORT:-5000}

# The address plan of the real nodes (docs/sandbox.md). Each sandbox on a machine has its
# own three ranges and link names: a /24 for its bridge in the root namespace (.1, where the
# API server, the registry and PostgreSQL listen), its nodes (.2 on) and its LoadBalancer
# pool (.240 on), a /16 for pods (a /24 per node) and a /16 for Services.
TODO_SANDBOX_HOST_NET=${TODO_SANDBOX_HOST_NET:-10.220.0}
TODO_SANDBOX_POD_NET=${TODO_SANDBOX_POD_NET:-10.221}
TODO_SANDBOX_SERVICE_NET=${TODO_SANDBOX_SERVICE_NET:-10.222}
TODO_SANDBOX_LINK_PREFIX=${TODO_SANDBOX_LINK_PREFIX:-tdsbx}

readonly sandbox_context=todo-sandbox
readonly sandbox_pki="$TODO_SANDBOX_DIR/pki"
readonly sandbox_pids="$TODO_SANDBOX_DIR/pids"
readonly sandbox_logs="$TODO_SANDBOX_DIR/logs"
readonly sandbox_kubeconfig="$TODO_SANDBOX_DIR/kubeconfig"
# How many nodes the running sandbox has: written by `up`, read by `down` and `status`.
readonly sandbox_node_count_file="$TODO_SANDBOX_DIR/node-count"
readonly sandbox_max_nodes=5

readonly sandbox_bridge="${TODO_SANDBOX_LINK_PREFIX}0"
readonly sandbox_bridge_ip="$TODO_SANDBOX_HOST_NET.1"
readonly sandbox_pod_cidr="$TODO_SANDBOX_POD_NET.0.0/16"
readonly sandbox_service_cidr="$TODO_SANDBOX_SERVICE_NET.0.0/16"
readonly sandbox_kubernetes_service_ip="$TODO_SANDBOX_SERVICE_NET.0.1"
readonly sandbox_dns_ip="$TODO_SANDBOX_SERVICE_NET.0.10"
readonly sandbox_registry_address="$sandbox_bridge_ip:$TODO_SANDBOX_REGISTRY_PORT"
# The addresses a LoadBalancer Service gets, announced on the bridge by the node serving it.
readonly sandbox_lb_cidr="$TODO_SANDBOX_HOST_NET.240/28"
readonly sandbox_lb_range="$TODO_SANDBOX_HOST_NET.240-$TODO_SANDBOX_HOST_NET.254"
readonly sandbox_cgroup_root="$TODO_SANDBOX_LINK_PREFIX"

# Node N (1, 2, ...): its name, address on the bridge, pod range, zone and links.
sandbox_node_name() { echo "sandbox-node-$1"; }
sandbox_node_ip() { echo "$TODO_SANDBOX_HOST_NET.$(($1 + 1))"; }
sandbox_node_pod_cidr() { echo "$TODO_SANDBOX_POD_NET.$(($1 - 1)).0/24"; }
sandbox_node_zone() { echo "sandbox-$(printf '%s' abcdefgh | cut -c "$1")"; }
sandbox_node_veth() { echo "${TODO_SANDBOX_LINK_PREFIX}-n$1"; }
sandbox_node_netns() { echo "${TODO_SANDBOX_LINK_PREFIX}-$(sandbox_node_name "$1")"; }

sandbox_node_count() {
  if [[ -f "$sandbox_node_count_file" ]]; then cat "$sandbox_node_count_file"; else echo 1; fi
}

# What `up` starts, in order; each records its PID in pids/. The nodes' pods are containerd's.
readonly sandbox_control_plane=(postgresql etcd kube-apiserver kube-controller-manager kube-scheduler registry)
readonly sandbox_node_components=(containerd kubelet kube-proxy kube-router)

# sandbox_components COUNT: every component's name with COUNT nodes, theirs as NODE-COMPONENT.
sandbox_components() {
  local count=$1 index component
  printf '%s\n' "${sandbox_control_plane[@]}"
  for ((index = 1; index <= count; index++)); do
    for component in "${sandbox_node_components[@]}"; do
      echo "$(sandbox_node_name "$index")-$component"
    done
  done
}

component_port() {
  case "$1" in
    etcd) echo "$TODO_SANDBOX_ETCD_PORT" ;;
    kube-apiserver) echo "$TODO_SANDBOX_API_PORT" ;;
    kube-controller-manager) echo "$TODO_SANDBOX_KCM_PORT" ;;
    kube-scheduler) echo "$TODO_SANDBOX_SCHEDULER_PORT" ;;
    postgresql) echo "$TODO_SANDBOX_POSTGRES_PORT" ;;
    registry) echo "$TODO_SANDBOX_REGISTRY_PORT" ;;
  esac
}

component_port_variable() {
  case "$1" in
    etcd) echo TODO_SANDBOX_ETCD_PORT ;;
    kube-apiserver) echo TODO_SANDBOX_API_PORT ;;
    kube-controller-manager) echo TODO_SANDBOX_KCM_PORT ;;
    kube-scheduler) echo TODO_SANDBOX_SCHEDULER_PORT ;;
    postgresql) echo TODO_SANDBOX_POSTGRES_PORT ;;
    registry) echo TODO_SANDBOX_REGISTRY_PORT ;;
  esac
}

# A process is identified by its PID and its start time (field 22 of /proc/PID/stat), so a
# PID that the kernel has since given to another program is never mistaken for ours.
process_start_time() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  # The command name (field 2) may hold spaces; count fields after its closing parenthesis.
  stat=${stat##*) }
  awk '{print $20}' <<<"$stat"
}

# component_pid NAME: print the PID of the component if the recorded process still runs.
component_pid() {
  local file="$sandbox_pids/$1.pid"
  [[ -f "$file" ]] || return 1
  local pid start
  read -r pid start <"$file" || return 1
  [[ -n "$pid" && "$(process_start_time "$pid" 2>/dev/null)" == "$start" ]] || return 1
  echo "$pid"
}

# start_component NAME CMD...: start CMD detached, in its own session, logging to the
# component's log file, and record its PID and start time.
start_component() {
  local name=$1; shift
  mkdir -p "$sandbox_pids" "$sandbox_logs"
  setsid "$@" >"$sandbox_logs/$name.log" 2>&1 </dev/null &
  local pid=$!
  local start
  start=$(process_start_time "$pid") || log::die "$name exited at once; see $sandbox_logs/$name.log"
  echo "$pid $start" >"$sandbox_pids/$name.pid"
}

# stop_component NAME [GRACE_SECONDS]: SIGTERM the recorded process group, SIGKILL after
# the grace period. Safe to call when it is not running.
stop_component() {
  local name=$1 grace=${2:-10}
  local pid
  if pid=$(component_pid "$name"); then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local waited=0
    while component_pid "$name" >/dev/null && ((waited < grace * 10)); do
      sleep 0.1; waited=$((waited + 1))
    done
    if component_pid "$name" >/dev/null; then
      log::warn "$name (pid $pid) did not stop within ${grace}s; killing it"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$sandbox_pids/$name.pid"
}

# port_in_use PORT: true when something listens on 127.0.0.1:PORT.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# render_template FILE: print FILE with each ${name} replaced by the exported variable of
# that name; nothing else in it is touched.
render_template() {
  local names
  # shellcheck disable=SC2016  # the pattern matches the literal text ${name}
  names=$(grep -o '\${[A-Za-z_]*}' "$1" | sort -u | tr -d '\n')
  envsubst "$names" <"$1"
}

# wait_for TIMEOUT COMMAND...: poll COMMAND until it succeeds or TIMEOUT seconds pass.
wait_for() {
  local timeout=$1; shift
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      return 1
    fi
    sleep 0.5
  done
}

sandbox_kubectl() {
  "$(tool_dir kubernetes)/bin/kubectl" --kubeconfig "$sandbox_kubeconfig" "$@"
}
