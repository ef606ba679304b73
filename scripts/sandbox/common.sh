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

# The address plan of the real node (docs/sandbox.md). Each sandbox on a machine has its own
# three ranges and link names: a /24 for its bridge in the root namespace (.1, where the API
# server, the registry and PostgreSQL listen) and its nodes (.2 on), a /16 for pods (a /24
# per node) and a /16 for Services.
TODO_SANDBOX_HOST_NET=${TODO_SANDBOX_HOST_NET:-10.220.0}
TODO_SANDBOX_POD_NET=${TODO_SANDBOX_POD_NET:-10.221}
TODO_SANDBOX_SERVICE_NET=${TODO_SANDBOX_SERVICE_NET:-10.222}
TODO_SANDBOX_LINK_PREFIX=${TODO_SANDBOX_LINK_PREFIX:-tdsbx}

readonly sandbox_node_name=sandbox-node
readonly sandbox_context=todo-sandbox
readonly sandbox_pki="$TODO_SANDBOX_DIR/pki"
readonly sandbox_pids="$TODO_SANDBOX_DIR/pids"
readonly sandbox_logs="$TODO_SANDBOX_DIR/logs"
readonly sandbox_kubeconfig="$TODO_SANDBOX_DIR/kubeconfig"

readonly sandbox_bridge="${TODO_SANDBOX_LINK_PREFIX}0"
readonly sandbox_bridge_ip="$TODO_SANDBOX_HOST_NET.1"
readonly sandbox_veth="${TODO_SANDBOX_LINK_PREFIX}-n0"
readonly sandbox_netns="${TODO_SANDBOX_LINK_PREFIX}-$sandbox_node_name"
readonly sandbox_node_ip="$TODO_SANDBOX_HOST_NET.2"
readonly sandbox_pod_cidr="$TODO_SANDBOX_POD_NET.0.0/16"
readonly sandbox_node_pod_cidr="$TODO_SANDBOX_POD_NET.0.0/24"
readonly sandbox_service_cidr="$TODO_SANDBOX_SERVICE_NET.0.0/16"
readonly sandbox_kubernetes_service_ip="$TODO_SANDBOX_SERVICE_NET.0.1"
readonly sandbox_dns_ip="$TODO_SANDBOX_SERVICE_NET.0.10"
readonly sandbox_registry_address="$sandbox_bridge_ip:$TODO_SANDBOX_REGISTRY_PORT"
readonly sandbox_cgroup_root="$TODO_SANDBOX_LINK_PREFIX"

# What `up` starts, in order; each records its PID in pids/. The node's pods are containerd's.
readonly sandbox_components=(postgresql etcd kube-apiserver kube-controller-manager kube-scheduler registry containerd kubelet kube-proxy)

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
