#!/usr/bin/env bash
# The real nodes' own images (pause, CoreDNS, metrics-server, MetalLB, Traefik), built from
# their Dockerfiles and pushed to the sandbox's registry, and the cluster add-ons that run
# them. Sourced by
# up.sh after common.sh and node/node.sh.
# shellcheck disable=SC2154  # sandbox_* names come from common.sh, sourced first

readonly addons_dir="$sandbox_repo_root/scripts/sandbox/addons"

# addons::build_and_push NAME TAG DOCKERFILE CONTEXT: build an image from its Dockerfile
# with buildah (storage and layers in the tool cache, so they survive `down`) and push it to
# the sandbox's registry as NAME:TAG.
addons::build_and_push() {
  local image="$sandbox_registry_address/$1:$2"
  images::build "$image" "$3" "$4"
  images::push "$image"
}

addons::push_node_images() {
  images::find_builder buildah
  images::setup_registry "$sandbox_registry_address" insecure
  addons::build_and_push pause "$PAUSE_VERSION" "$sandbox_repo_root/scripts/sandbox/node/pause/Dockerfile" \
    "$(tool_dir kubernetes-node)/pause"
  addons::build_and_push coredns "$COREDNS_VERSION" "$addons_dir/coredns/Dockerfile" "$(tool_dir coredns)/bin"
  addons::build_and_push metrics-server "$METRICS_SERVER_VERSION" "$addons_dir/metrics-server/Dockerfile" \
    "$(tool_dir metrics-server)/bin"
  addons::build_and_push metallb "$METALLB_VERSION" "$addons_dir/metallb/Dockerfile" "$(tool_dir metallb)/bin"
  addons::build_and_push traefik "$TRAEFIK_VERSION" "$addons_dir/traefik/Dockerfile" "$(tool_dir traefik)/bin"
}

# addons::apply NAME [FILE]: render the add-on's manifest (NAME.yaml, or FILE in its
# directory) and apply it.
addons::apply() {
  local manifest="$addons_dir/$1/${2:-$1.yaml}"
  export registry_address=$sandbox_registry_address cluster_dns_ip=$sandbox_dns_ip metallb_pool=$sandbox_lb_range
  export COREDNS_VERSION METRICS_SERVER_VERSION METALLB_VERSION TRAEFIK_VERSION
  render_template "$manifest" | sandbox_kubectl apply --server-side --force-conflicts -f - >/dev/null
}

addons::install() {
  addons::apply coredns
  addons::apply metrics-server
  addons::apply metallb
  # The address pool is one of MetalLB's own kinds, served once its CRDs are established.
  sandbox_kubectl wait --for condition=established --timeout=60s \
    crd/ipaddresspools.metallb.io crd/l2advertisements.metallb.io >/dev/null ||
    log::die "MetalLB's CRDs were not established within 60 s; see: kubectl get crd | grep metallb"
  addons::apply metallb pool.yaml
  addons::apply traefik
}

# addons::wait: the cluster DNS answers, metrics.k8s.io serves, and the Ingress controller
# has its LoadBalancer address. A first lookup right after CoreDNS turns Ready can still
# miss, until kube-proxy has written its Service rules.
addons::wait() {
  local workload
  for workload in kube-system/deployment/coredns kube-system/deployment/metrics-server \
      metallb-system/deployment/controller metallb-system/daemonset/speaker traefik/deployment/traefik; do
    sandbox_kubectl -n "${workload%%/*}" rollout status "${workload#*/}" --timeout=120s >/dev/null ||
      log::die "add-on ${workload#*/} was not Ready within 120 s; see: kubectl -n ${workload%%/*} describe ${workload#*/}"
  done
  wait_for 60 sandbox_kubectl get --raw /apis/metrics.k8s.io/v1beta1/nodes ||
    log::die "metrics.k8s.io did not answer within 60 s; see: kubectl -n kube-system logs deployment/metrics-server"
  wait_for 60 addons::has_lb_address traefik traefik ||
    log::die "Service traefik/traefik got no LoadBalancer address within 60 s; see: kubectl -n metallb-system logs deployment/controller"
}

# addons::has_lb_address NAMESPACE SERVICE
addons::has_lb_address() {
  [[ -n "$(sandbox_kubectl -n "$1" get service "$2" -o 'jsonpath={.status.loadBalancer.ingress[0].ip}')" ]]
}
