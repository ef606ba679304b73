#!/usr/bin/env bash
# The real node's own images (pause, CoreDNS, metrics-server), built from their Dockerfiles
# and pushed to the sandbox's registry, and the cluster add-ons that run them. Sourced by
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
}

# addons::apply NAME: render the add-on's manifest and apply it.
addons::apply() {
  local manifest="$addons_dir/$1/$1.yaml"
  export registry_address=$sandbox_registry_address cluster_dns_ip=$sandbox_dns_ip
  export COREDNS_VERSION METRICS_SERVER_VERSION
  render_template "$manifest" | sandbox_kubectl apply --server-side --force-conflicts -f - >/dev/null
}

addons::install() {
  addons::apply coredns
  addons::apply metrics-server
}

# addons::wait: the cluster DNS answers and metrics.k8s.io serves. A first lookup right
# after CoreDNS turns Ready can still miss, until kube-proxy has written its Service rules.
addons::wait() {
  local deployment
  for deployment in coredns metrics-server; do
    sandbox_kubectl -n kube-system rollout status "deployment/$deployment" --timeout=120s >/dev/null ||
      log::die "add-on $deployment was not Ready within 120 s; see: kubectl -n kube-system describe deployment $deployment"
  done
  wait_for 60 sandbox_kubectl get --raw /apis/metrics.k8s.io/v1beta1/nodes ||
    log::die "metrics.k8s.io did not answer within 60 s; see: kubectl -n kube-system logs deployment/metrics-server"
}
