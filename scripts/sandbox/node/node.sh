#!/usr/bin/env bash
# The sandbox's real node: its network namespace joined to the root namespace's sandbox
# bridge by a veth pair, and containerd, the kubelet and kube-proxy running inside it.
# Sourced by up.sh and down.sh after common.sh; every name and address comes from the plan
# in common.sh.
#
# What a node changes outside the sandbox directory, and how `down` undoes it:
#   network namespace, bridge, veth pair, blackhole routes -> deleted
#   cgroups under /<cgroup root> in every hierarchy         -> removed, deepest first
#   mounts under the sandbox directory, pod netns files     -> unmounted, removed
#   three host-wide sysctls the kubelet sets                -> values from before put back
#   /run/containerd, /var/lib/cni, /var/lib/kubelet,
#   /var/log/containers (fixed paths of containerd 1.6 and
#   the kubelet)                                             -> removed when the sandbox made
#                                                              them and no other node runs
# shellcheck disable=SC2154  # sandbox_* names come from common.sh, sourced first

readonly node_sysctls=(vm.overcommit_memory kernel.panic kernel.panic_on_oops)
# The machine's own values of those settings, kept by the first node to start and put back by
# the last to stop: sandboxes side by side share them.
readonly node_sysctls_saved=/run/todo-sandbox-sysctls
readonly node_fixed_paths=(/run/containerd /var/lib/cni /var/lib/kubelet /var/log/containers)

node_dir() { echo "$TODO_SANDBOX_DIR/nodes/$sandbox_node_name"; }
node_netns_path() { echo "/run/netns/$sandbox_netns"; }

# in_node CMD...: run CMD in the node's network namespace only. `ip netns exec` would also
# give it a mount namespace of its own, and the kubelet's volume mounts would then be
# invisible to containerd and runc.
in_node() { nsenter --net="$(node_netns_path)" -- "$@"; }

node_tool() { echo "$(tool_dir node-runtime)/bin/$1"; }

# --- network -------------------------------------------------------------------------------

node::network_up() {
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

  ip netns add "$sandbox_netns"
  ip link add "$sandbox_veth" type veth peer name eth0 netns "$sandbox_netns"
  sysctl -qw "net.ipv6.conf.$sandbox_veth.disable_ipv6=1"
  ip link set "$sandbox_veth" master "$sandbox_bridge" up
  in_node sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
  in_node ip link set lo up
  in_node ip addr add "$sandbox_node_ip/24" dev eth0
  in_node ip link set eth0 up
  # The node has no default route. Service addresses are rewritten by kube-proxy before
  # routing; one that is not would follow this route into the root namespace's blackhole.
  in_node ip route add "$sandbox_service_cidr" dev eth0
  # A packet for a pod or Service address that reaches the root namespace goes nowhere.
  ip route add blackhole "$sandbox_pod_cidr"
  ip route add blackhole "$sandbox_service_cidr"
  # Forwarding and bridge netfilter only inside the node.
  in_node sysctl -qw net.ipv4.ip_forward=1
  in_node sysctl -qw net.bridge.bridge-nf-call-iptables=1
}

node::network_down() {
  ip netns del "$sandbox_netns" 2>/dev/null || true
  ip link del "$sandbox_veth" 2>/dev/null || true
  ip link del "$sandbox_bridge" 2>/dev/null || true
  ip route del blackhole "$sandbox_pod_cidr" 2>/dev/null || true
  ip route del blackhole "$sandbox_service_cidr" 2>/dev/null || true
  # Pod network namespaces whose pods are gone (containerd names them cni-*). Another
  # sandbox's are still in use by its pause processes and stay.
  local netns
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

# A sandbox with these link names that crashed or was killed leaves its namespace, links,
# routes and cgroups behind with no process in them; a live one has at least containerd in
# its namespace. Only an abandoned one may be taken over.
node::abandoned() {
  [[ -z "$(ip netns pids "$sandbox_netns" 2>/dev/null)" ]] || return 1
  local hierarchy
  for hierarchy in /sys/fs/cgroup/*/; do
    [[ -d "$hierarchy$sandbox_cgroup_root" ]] || continue
    if find "$hierarchy$sandbox_cgroup_root" -name cgroup.procs -exec cat {} + 2>/dev/null | grep -q .; then
      return 1
    fi
  done
}

node::reclaim_abandoned() {
  node::network_down
  node::remove_cgroups
}

# --- configuration -------------------------------------------------------------------------

node::write_config() {
  local dir; dir=$(node_dir)
  mkdir -p "$dir"/{containerd,cni/net.d,cni/ipam,kubelet,pod-logs} \
    "$dir/containerd/certs.d/$sandbox_registry_address"
  export node_dir=$dir node_name=$sandbox_node_name node_ip=$sandbox_node_ip
  export node_pod_cidr=$sandbox_node_pod_cidr pod_cidr=$sandbox_pod_cidr
  export containerd_socket="$dir/containerd/containerd.sock" runc_binary
  runc_binary=$(readlink -f "$(node_tool runc)")
  export cni_bin_dir
  cni_bin_dir=$(readlink -f "$(tool_dir node-runtime)/cni")
  export pause_image="$sandbox_registry_address/pause:$PAUSE_VERSION"
  export pki_dir=$sandbox_pki cgroup_root=$sandbox_cgroup_root cluster_dns_ip=$sandbox_dns_ip
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

node::start_containerd() {
  local dir; dir=$(node_dir)
  # containerd finds its shim and runc on PATH.
  start_component containerd env PATH="$(tool_dir node-runtime)/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    nsenter --net="$(node_netns_path)" -- "$(node_tool containerd)" --config "$dir/containerd/config.toml"
  if ! wait_for 30 in_node "$(node_tool ctr)" --address "$dir/containerd/containerd.sock" version; then
    require_alive containerd
    log::die "containerd did not answer within 30 s; see $sandbox_logs/containerd.log"
  fi
}

# The kubelet requires its cgroup root to exist in every hierarchy; a new cpuset cgroup
# starts with no CPUs or memory nodes, so it gets its parent's.
node::make_cgroup_root() {
  local hierarchy
  for hierarchy in /sys/fs/cgroup/*/; do
    [[ -f "${hierarchy}cgroup.procs" ]] || continue
    mkdir -p "$hierarchy$sandbox_cgroup_root"
    if [[ -f "${hierarchy}cpuset.cpus" ]]; then
      cat "${hierarchy}cpuset.cpus" >"$hierarchy$sandbox_cgroup_root/cpuset.cpus"
      cat "${hierarchy}cpuset.mems" >"$hierarchy$sandbox_cgroup_root/cpuset.mems"
    fi
  done
}

node::start_kubelet() {
  local dir; dir=$(node_dir)
  node::save_sysctls
  node::make_cgroup_root
  start_component kubelet nsenter --net="$(node_netns_path)" -- "$(bin kubernetes-node kubelet)" \
    --config "$dir/kubelet.yaml" \
    --kubeconfig "$TODO_SANDBOX_DIR/kubelet.kubeconfig" \
    --root-dir "$dir/kubelet" \
    --node-ip "$sandbox_node_ip" \
    --hostname-override "$sandbox_node_name" \
    --node-labels "topology.kubernetes.io/zone=sandbox-a" \
    --v 1
}

node::start_kube_proxy() {
  start_component kube-proxy nsenter --net="$(node_netns_path)" -- "$(bin kubernetes-node kube-proxy)" \
    --config "$(node_dir)/kube-proxy.yaml" --v 1
}

# node::stop: the pods first (through containerd, so their mounts and network namespaces
# go with them), then the node's processes, then what they left behind.
node::stop() {
  local dir; dir=$(node_dir)
  stop_component kube-proxy
  stop_component kubelet
  local socket="$dir/containerd/containerd.sock"
  if component_pid containerd >/dev/null && [[ -S "$socket" ]]; then
    local ctr=("$(node_tool ctr)" --address "$socket" --namespace k8s.io) id
    for id in $("${ctr[@]}" tasks ls -q 2>/dev/null); do
      "${ctr[@]}" tasks kill --signal SIGKILL "$id" >/dev/null 2>&1 || true
    done
    local waited=0
    while [[ -n "$("${ctr[@]}" tasks ls -q 2>/dev/null)" ]] && ((waited < 50)); do
      sleep 0.1; waited=$((waited + 1))
    done
  fi
  stop_component containerd
  # Shims outlive containerd; ours are those started for this node's socket.
  local pid
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $socket" || true); do
    kill -KILL "$pid" 2>/dev/null || true
  done
  # Mounts under the sandbox directory (container root filesystems, pod volumes, the
  # kubelet's bind mount of its own root), innermost first.
  local mount
  while read -r mount; do
    umount -l "$mount" 2>/dev/null || true
  done < <(awk -v dir="$TODO_SANDBOX_DIR/" 'index($5, dir) == 1 {print $5}' /proc/self/mountinfo | sort -r)
  node::remove_cgroups
  node::restore_sysctls
  node::remove_fixed_paths
}

node::remove_cgroups() {
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
