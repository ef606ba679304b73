#!/usr/bin/env bash
# What the stack needs of the sandbox beyond a cluster, as it would need of any cluster: its
# images, built from their Dockerfiles and pushed to the sandbox's registry, and Dapr's
# control plane, installed from Dapr's own chart with images built from the same module.
# Safe to run again: unchanged image layers are reused and Dapr is upgraded in place.
#
# Usage: scripts/sandbox/prepare-stack.sh [--help]
#
# Environment:
#   TODO_SANDBOX_HOME, TODO_SANDBOX_DIR, TODO_SANDBOX_*  as for scripts/sandbox/up.sh
#   CI, NO_COLOR                                       plain output
set -o errexit -o nounset -o pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
scripts_dir=$(cd "$script_dir/.." && pwd)
# shellcheck source=scripts/lib/log.sh
source "$scripts_dir/lib/log.sh"
# shellcheck source=scripts/sandbox/versions.env
source "$script_dir/versions.env"
# shellcheck source=scripts/sandbox/tools.sh
source "$script_dir/tools.sh"
# shellcheck source=scripts/sandbox/common.sh
source "$script_dir/common.sh"

usage() {
  cat <<EOF
Usage: scripts/sandbox/prepare-stack.sh [--help]

Builds the stack's images and pushes them to the sandbox's registry ($sandbox_registry_address),
then installs Dapr $DAPR_VERSION's control plane from its chart into dapr-system.
The sandbox must be up (npm run sandbox:up).
EOF
}

main() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      -h|--help) usage; return ;;
      *) log::die "unknown argument '$1' (see --help)" 2 ;;
    esac
  done
  [[ -f "$sandbox_kubeconfig" ]] || log::die "the sandbox is not up; start it with: npm run sandbox:up" 3
  rm -f "$TODO_SANDBOX_DIR/stack-prepared"
  log::step "images: building from the Dockerfiles, pushing to $sandbox_registry_address"
  bash "$script_dir/images/build.sh" --registry "$sandbox_registry_address" --push --insecure
  log::step "Dapr: control plane from its Helm chart"
  bash "$script_dir/dapr/build-images.sh" --registry "$sandbox_registry_address" --push
  # On three nodes or more, Dapr's production mode: three replicas of each service, so that a
  # node drained for maintenance never takes the sidecar injector away (its webhook lets
  # pods through without a sidecar while it is gone).
  local ha=()
  (($(sandbox_node_count) < 3)) || ha=(--ha)
  KUBECTL="$TODO_SANDBOX_HOME/bin/kubectl" HELM="$TODO_SANDBOX_HOME/bin/helm" \
    bash "$scripts_dir/install-dapr.sh" --kubeconfig "$sandbox_kubeconfig" --yes \
    --chart "$(tool_dir dapr-control-plane)/chart" --image-registry "$sandbox_registry_address" \
    --values "$script_dir/dapr/values.yaml" ${ha[@]+"${ha[@]}"}
  # The tests' shared set-up runs this once per sandbox; `down` removes the mark with the rest.
  touch "$TODO_SANDBOX_DIR/stack-prepared"
}

main "$@"
