#!/usr/bin/env bash
# The sandbox's real nodes: each in a network namespace of its own, joined to the root
# namespace's sandbox bridge by a veth pair, with containerd, the kubelet, kube-proxy and
# kube-router's network policy controller running inside it. Sourced by up.sh and down.sh after common.sh; every name and address
# comes from the plan in common.sh. Functions named node::* act on one node, given by its
# number; nodes::* act on all of them.
#
# What the nodes change outside the sandbox directory, and how `down` undoes it:
#   network namespaces, bridge, veth pairs, routes      -> deleted
#   cgroups under /<cgroup root> in every hierarchy     -> removed, deepest first
#   mounts under the sandbox directory, pod netns files -> unmounted, removed
#   three host-wide sysctls the kubelet sets            -> values from before put back
#   /run/containerd, /var/lib/cni, /var/lib/kubelet,
#   /var/log/containers (fixed paths of containerd 1.6 and
#   the kubelet)                                         -> removed when the sandbox made
#                                                          them and no other node runs
# shellcheck disable=SC2154  # sandbox_* names come from common.sh, sourced first

readonly node_sysctls=(vm.overcommit_memory kernel.panic kernel.panic_on_oops)
# The machine's own values of those settings, kept by the first node to start and put back by
# the last to stop: sandboxes side by side share them.
readonly node_sysctls_saved=/run/todo-sandbox-sysctls
readonly node_fixed_paths=(/run/containerd /var/lib/cni /var/lib/kubelet /var/log/containers)

node_dir() { echo "$TODO_SANDBOX_DIR/nodes/$(sandbox_node_name "$1")"; }
node_netns_path() { echo "/run/netns/$(sandbox_node_netns "$1")"; }
node_cgroup() { echo "$sandbox_cgroup_root/$(sandbox_node_name "$1")"; }

# in_node N CMD...: run CMD in node N's network namespace only. `ip netns exec` would also
# give it a mount namespace of its own, and the kubelet's volume mounts would then be
# invisible to containerd and runc.
in_node() { local node=$1; shift; nsenter --net="$(node_netns_path "$node")" -- "$@"; }

node_tool() { echo "$(tool_dir node-runtime)/bin/$1"; }

# --- network -------------------------------------------------------------------------------

# nodes::network_up COUNT: the bridge, then each node's namespace.
nodes::network_up() {
  local count=$1 node
  # What existed before, so that `down` removes only what the sandbox made.
  local path
  : >"$TODO_SANDBOX_DIR/preexisting-paths"
  for path in "${node_fixed_paths[@]}" /run/netns; do
    [[ -e "$path" ]] && echo "$path" >>"$TODO_SANDBOX_DIR/preexisting-paths"
  done

  ip link add "$sandbox_bridge" type bridge
  # No IPv6 on the sandbox's links: nothing is sent but what the sandbox sends.
  sysctl -qw "net.ipv6.conf.$sandbox_bridge.disable_ipv6=1"
  ip addr add "$sandbox_bridge_ip/24" dev "$sandbox_bridge"
  ip link set "$sandbox_bridge" up
  # A packet for a pod or Service address that reaches the root namespace goes nowhere,
  # unless a node's own pod range is routed to it (up.sh, once the node is Ready).
  ip route add blackhole "$sandbox_pod_cidr"
  ip route add blackhole "$sandbox_service_cidr"
  for ((node = 1; node <= count; node++)); do
    node::network_up "$node" "$count"
  done
}

# node::network_up N COUNT
node::network_up() {
  local node=$1 count=$2 other
  local netns veth
  netns=$(sandbox_node_netns "$node"); veth=$(sandbox_node_veth "$node")
  ip netns add "$netns"
  ip link add "$veth" type veth peer name eth0 netns "$netns"
  sysctl -qw "net.ipv6.conf.$veth.disable_ipv6=1"
  ip link set "$veth" master "$sandbox_bridge" up
  in_node "$node" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
  in_node "$node" ip link set lo up
  in_node "$node" ip addr add "$(sandbox_node_ip "$node")/24" dev eth0
  in_node "$node" ip link set eth0 up
  # The node has no default route. Service addresses are rewritten by kube-proxy before
  # routing; one that is not would follow this route into the root namespace's blackhole.
  in_node "$node" ip route add "$sandbox_service_cidr" dev eth0
  # The other nodes' pods, through those nodes, as a cloud's VPC routes would carry them.
  for ((other = 1; other <= count; other++)); do
    ((other == node)) && continue
    in_node "$node" ip route add "$(sandbox_node_pod_cidr "$other")" via "$(sandbox_node_ip "$other")" dev eth0
  done
  # Forwarding and bridge netfilter only inside the node.
  in_node "$node" sysctl -qw net.ipv4.ip_forward=1
  in_node "$node" sysctl -qw net.bridge.bridge-nf-call-iptables=1
  # Pods keep their own address towards other pods, on any node, so that NetworkPolicies
  # see who is calling; towards anything else (the bridge's PostgreSQL and registry, the
  # nodes) they leave with the node's address, as on a cloud's VPC.
  in_node "$node" "$(node_tool iptables)" -t nat -A POSTROUTING -s "$(sandbox_node_pod_cidr "$node")" \
    ! -d "$sandbox_pod_cidr" -m comment --comment "todo-sandbox: pods to outside the pod network" -j MASQUERADE
}

# sandbox_netns_list: this sandbox's node namespaces that exist, whatever the recorded count.
sandbox_netns_list() {
  ip netns list 2>/dev/null | awk -v prefix="${TODO_SANDBOX_LINK_PREFIX}-sandbox-node-" 'index($1, prefix) == 1 {print $1}'
}

nodes::network_down() {
  local netns link
  for netns in $(sandbox_netns_list); do
    ip netns del "$netns" 2>/dev/null || true
  done
  for link in $(ip -o link show 2>/dev/null | awk -F': ' -v prefix="${TODO_SANDBOX_LINK_PREFIX}-n" 'index($2, prefix) == 1 {sub(/@.*/, "", $2); print $2}'); do
    ip link del "$link" 2>/dev/null || true
  done
  ip link del "$sandbox_bridge" 2>/dev/null || true
  ip route del blackhole "$sandbox_pod_cidr" 2>/dev/null || true
  ip route del blackhole "$sandbox_service_cidr" 2>/dev/null || true
  # Pod network namespaces whose pods are gone (containerd names them cni-*). Another
  # sandbox's are still in use by its pause processes and stay.
  for netns in /run/netns/cni-*; do
    [[ -e "$netns" ]] || continue
    [[ -z "$(ip netns pids "$(basename "$netns")" 2>/dev/null)" ]] || continue
    umount "$netns" 2>/dev/null || true
    rm -f "$netns"
  done
  if ! grep -qx /run/netns "$TODO_SANDBOX_DIR/preexisting-paths" 2>/dev/null &&
      [[ -d /run/netns && -z "$(ls -A /run/netns)" ]]; then
    # `ip netns add` made /run/netns a shared mount of itself.
    umount /run/netns 2>/dev/null || true
    rmdir /run/netns 2>/dev/null || true
  fi
}

# A sandbox with these link names that crashed or was killed leaves its namespaces, links,
# routes and cgroups behind with no process in them; a live one has at least containerd in
# its nodes' namespaces. Only an abandoned one may be taken over.
nodes::abandoned() {
  local netns
  for netns in $(sandbox_netns_list); do
    [[ -z "$(ip netns pids "$netns" 2>/dev/null)" ]] || return 1
  done
  local hierarchy
  for hierarchy in /sys/fs/cgroup/*/; do
    [[ -d "$hierarchy$sandbox_cgroup_root" ]] || continue
    if find "$hierarchy$sandbox_cgroup_root" -name cgroup.procs -exec cat {} + 2>/dev/null | grep -q .; then
      return 1
    fi
  done
}

nodes::reclaim_abandoned() {
  nodes::network_down
  nodes::remove_cgroups
}

# --- configuration -------------------------------------------------------------------------

# node::write_config N
node::write_config() {
  local node=$1 dir; dir=$(node_dir "$node")
  mkdir -p "$dir"/{containerd,cni/net.d,cni/ipam,kubelet,pod-logs} \
    "$dir/containerd/certs.d/$sandbox_registry_address"
  export node_dir=$dir node_name node_ip node_pod_cidr pod_cidr=$sandbox_pod_cidr
  node_name=$(sandbox_node_name "$node"); node_ip=$(sandbox_node_ip "$node")
  node_pod_cidr=$(sandbox_node_pod_cidr "$node")
  export containerd_socket="$dir/containerd/containerd.sock" runc_binary
  runc_binary=$(readlink -f "$(node_tool runc)")
  export cni_bin_dir
  cni_bin_dir=$(readlink -f "$(tool_dir node-runtime)/cni")
  export pause_image="$sandbox_registry_address/pause:$PAUSE_VERSION"
  export pki_dir=$sandbox_pki cgroup_root cluster_dns_ip=$sandbox_dns_ip
  cgroup_root=$(node_cgroup "$node")
  export sandbox_dir=$TODO_SANDBOX_DIR registry_address=$sandbox_registry_address
  local templates="$sandbox_repo_root/scripts/sandbox/node"
  render_template "$templates/containerd.toml" >"$dir/containerd/config.toml"
  render_template "$templates/cni.conflist" >"$dir/cni/net.d/10-sandbox.conflist"
  render_template "$templates/kubelet.yaml" >"$dir/kubelet.yaml"
  render_template "$templates/kube-proxy.yaml" >"$dir/kube-proxy.yaml"
  render_template "$templates/registry-hosts.toml" >"$dir/containerd/certs.d/$sandbox_registry_address/hosts.toml"
  # Pods resolve names through the cluster DNS only; the machine's resolver is not theirs.
  echo "nameserver $sandbox_dns_ip" >"$dir/resolv.conf"
}

# --- processes -----------------------------------------------------------------------------

node::save_sysctls() {
  [[ -f "$node_sysctls_saved" ]] && return
  sysctl "${node_sysctls[@]}" >"$node_sysctls_saved"
}

node::restore_sysctls() {
  [[ -f "$node_sysctls_saved" ]] || return 0
  # Another sandbox's kubelet still relies on them.
  if pgrep -x kubelet >/dev/null; then return 0; fi
  local key value
  while read -r key _ value; do
    sysctl -qw "$key=$value"
  done <"$node_sysctls_saved"
  rm -f "$node_sysctls_saved"
}

# node_component N NAME: the name node N's NAME process is recorded and logged under.
node_component() { echo "$(sandbox_node_name "$1")-$2"; }

# node::start_containerd N
node::start_containerd() {
  local node=$1 dir; dir=$(node_dir "$node")
  # containerd finds its shim and runc on PATH.
  start_component "$(node_component "$node" containerd)" \
    env PATH="$(tool_dir node-runtime)/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    nsenter --net="$(node_netns_path "$node")" -- "$(node_tool containerd)" --config "$dir/containerd/config.toml"
}

# node::wait_containerd N
node::wait_containerd() {
  local node=$1 dir; dir=$(node_dir "$node")
  if ! wait_for 30 in_node "$node" "$(node_tool ctr)" --address "$dir/containerd/containerd.sock" version; then
    require_alive "$(node_component "$node" containerd)"
    log::die "containerd of $(sandbox_node_name "$node") did not answer within 30 s; see $sandbox_logs/$(node_component "$node" containerd).log"
  fi
}

# The kubelet requires its cgroup root to exist in every hierarchy; a new cpuset cgroup
# starts with no CPUs or memory nodes, so each level gets its parent's.
node::make_cgroup_root() {
  local node=$1 hierarchy level
  for hierarchy in /sys/fs/cgroup/*/; do
    [[ -f "${hierarchy}cgroup.procs" ]] || continue
    for level in "$sandbox_cgroup_root" "$(node_cgroup "$node")"; do
      mkdir -p "$hierarchy$level"
      if [[ -f "${hierarchy}cpuset.cpus" ]]; then
        cat "${hierarchy}cpuset.cpus" >"$hierarchy$level/cpuset.cpus"
        cat "${hierarchy}cpuset.mems" >"$hierarchy$level/cpuset.mems"
      fi
    done
  done
}

# node::start_kubelet N
node::start_kubelet() {
  local node=$1 dir; dir=$(node_dir "$node")
  node::save_sysctls
  node::make_cgroup_root "$node"
  start_component "$(node_component "$node" kubelet)" nsenter --net="$(node_netns_path "$node")" -- \
    "$(bin kubernetes-node kubelet)" \
    --config "$dir/kubelet.yaml" \
    --kubeconfig "$dir/kubelet.kubeconfig" \
    --root-dir "$dir/kubelet" \
    --node-ip "$(sandbox_node_ip "$node")" \
    --hostname-override "$(sandbox_node_name "$node")" \
    --node-labels "topology.kubernetes.io/zone=$(sandbox_node_zone "$node")" \
    --v 1
}

# node::start_kube_proxy N
node::start_kube_proxy() {
  local node=$1
  start_component "$(node_component "$node" kube-proxy)" nsenter --net="$(node_netns_path "$node")" -- \
    "$(bin kubernetes-node kube-proxy)" --config "$(node_dir "$node")/kube-proxy.yaml" --v 1
}

# node::start_kube_router N: kube-router's network policy controller only, as on a cluster
# whose routes and Service proxy come from elsewhere; it enforces NetworkPolicies with
# iptables and ipsets in the node's namespace.
node::start_kube_router() {
  local node=$1
  start_component "$(node_component "$node" kube-router)" \
    env PATH="$(tool_dir kube-router)/bin:$(tool_dir node-runtime)/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    NODE_NAME="$(sandbox_node_name "$node")" \
    nsenter --net="$(node_netns_path "$node")" -- "$(bin kube-router kube-router)" \
    --kubeconfig "$TODO_SANDBOX_DIR/kube-router.kubeconfig" \
    --hostname-override "$(sandbox_node_name "$node")" \
    --run-firewall=true --run-router=false --run-service-proxy=false \
    --service-cluster-ip-range "$sandbox_service_cidr" \
    --loadbalancer-ip-range "$sandbox_lb_cidr" \
    --metrics-port 0 \
    --v 1
}

# node::stop N: the pods first (through containerd, so their mounts and network namespaces
# go with them), then the node's processes.
node::stop() {
  local node=$1 dir; dir=$(node_dir "$node")
  stop_component "$(node_component "$node" kube-router)"
  stop_component "$(node_component "$node" kube-proxy)"
  stop_component "$(node_component "$node" kubelet)"
  local socket="$dir/containerd/containerd.sock"
  if component_pid "$(node_component "$node" containerd)" >/dev/null && [[ -S "$socket" ]]; then
    local ctr=("$(node_tool ctr)" --address "$socket" --namespace k8s.io) id
    for id in $("${ctr[@]}" tasks ls -q 2>/dev/null); do
      "${ctr[@]}" tasks kill --signal SIGKILL "$id" >/dev/null 2>&1 || true
    done
    local waited=0
    while [[ -n "$("${ctr[@]}" tasks ls -q 2>/dev/null)" ]] && ((waited < 50)); do
      sleep 0.1; waited=$((waited + 1))
    done
  fi
  stop_component "$(node_component "$node" containerd)"
  # Shims outlive containerd; the node's are those started for its socket.
  local pid
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $socket" || true); do
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# nodes::stop COUNT: every node, then what they left behind.
nodes::stop() {
  local count=$1 node
  for ((node = count; node >= 1; node--)); do
    node::stop "$node"
  done
  # Mounts under the sandbox directory (container root filesystems, pod volumes, the
  # kubelets' bind mounts of their own roots), innermost first.
  local mount
  while read -r mount; do
    umount -l "$mount" 2>/dev/null || true
  done < <(awk -v dir="$TODO_SANDBOX_DIR/" 'index($5, dir) == 1 {print $5}' /proc/self/mountinfo | sort -r)
  nodes::remove_cgroups
  node::restore_sysctls
  node::remove_fixed_paths
}

nodes::remove_cgroups() {
  local hierarchy
  for hierarchy in /sys/fs/cgroup/*/; do
    [[ -d "$hierarchy$sandbox_cgroup_root" ]] || continue
    find "$hierarchy$sandbox_cgroup_root" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

# The fixed paths of containerd 1.6 and the kubelet, when the sandbox made them and no
# other node on this machine still uses them.
node::remove_fixed_paths() {
  if pgrep -x kubelet >/dev/null || pgrep -x containerd >/dev/null; then return 0; fi
  local path
  for path in "${node_fixed_paths[@]}"; do
    grep -qx "$path" "$TODO_SANDBOX_DIR/preexisting-paths" 2>/dev/null && continue
    rm -rf "$path"
  done
}
