#!/usr/bin/env bash
# Where the sandbox's tools live. Sourced after versions.env by the sandbox scripts.

TODO_SANDBOX_HOME=${TODO_SANDBOX_HOME:-$HOME/.cache/todo-sandbox}

# Every tool the sandbox installs, in install order.
# shellcheck disable=SC2034  # read by install-tools.sh
readonly sandbox_tools=(postgresql chromium kafka helm helm4 daprd kubernetes
  node-runtime image-builder kubernetes-node coredns metrics-server registry dapr-control-plane
  kube-router metallb traefik)

# tool_version NAME: the pinned version that keys NAME's cache directory.
tool_version() {
  case "$1" in
    helm) echo "$HELM_VERSION" ;;
    helm4) echo "$HELM4_VERSION" ;;
    kubernetes) echo "$KUBERNETES_VERSION-etcd-$ETCD_VERSION" ;;
    daprd) echo "$DAPR_VERSION-$(cksum <<<"$DAPRD_COMPONENTS" | cut -d' ' -f1)" ;;
    kafka) echo "$KAFKA_VERSION-log4j-$LOG4J_VERSION-$LOG4J_SLF4J_BINDING" ;;
    postgresql) echo "$POSTGRESQL_MAJOR" ;;
    chromium) echo "debian" ;;
    kubernetes-node) echo "$KUBERNETES_VERSION-pause-$PAUSE_VERSION" ;;
    coredns) echo "$COREDNS_VERSION-$(cksum <<<"$COREDNS_PLUGINS" | cut -d' ' -f1)" ;;
    metrics-server) echo "$METRICS_SERVER_VERSION-k8s-$KUBERNETES_VERSION" ;;
    registry) echo "$REGISTRY_VERSION-filesystem" ;;
    dapr-control-plane) echo "$DAPR_VERSION-$(cksum <<<"$DAPR_CONTROL_PLANE" | cut -d' ' -f1)" ;;
    kube-router) echo "$KUBE_ROUTER_VERSION" ;;
    metallb) echo "$METALLB_VERSION-frr-k8s-$METALLB_FRR_K8S_VERSION" ;;
    traefik) echo "$TRAEFIK_VERSION-no-dns-providers" ;;
    node-runtime|image-builder) echo "debian" ;;
    *) return 1 ;;
  esac
}

tool_dir() { echo "$TODO_SANDBOX_HOME/tools/$1-$(tool_version "$1")"; }

# One bin/ of links to the pinned versions, so callers need a single PATH entry.
link_tool_bins() {
  local bin_dir="$TODO_SANDBOX_HOME/bin" dir program
  mkdir -p "$bin_dir"
  for dir in "$TODO_SANDBOX_HOME"/tools/*/; do
    [[ -f "$dir/.installed" && -d "$dir/bin" ]] || continue
    # Only the pinned version of each tool is linked.
    local name; name=$(basename "$dir")
    local tool
    for tool in "${sandbox_tools[@]}"; do
      [[ "$name" == "$tool-$(tool_version "$tool")" ]] || continue
      for program in "$dir"bin/*; do
        ln -sfn "$program" "$bin_dir/$(basename "$program")"
      done
    done
  done
}

json_field() {
  python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# go_module_dir MODULE@VERSION: download a module (read-only) and print its directory.
go_module_dir() {
  go mod download -json "$1" | json_field Dir
}

# require_tools NAME...: stop with one line naming the missing tool and the fix.
require_tools() {
  local tool
  for tool in "$@"; do
    [[ -f "$(tool_dir "$tool")/.installed" ]] && continue
    log::die "sandbox tool '$tool' $(tool_version "$tool") is not installed; run: scripts/sandbox/install-tools.sh --only $tool" 3
  done
}
