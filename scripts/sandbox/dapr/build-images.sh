#!/usr/bin/env bash
# Builds the images of Dapr's control plane and of its sidecar from the sandbox's Dapr
# binaries, with the names Dapr's Helm chart asks for (charts/dapr at DAPR_VERSION), and
# optionally pushes them to a registry:
#   REGISTRY/dapr:VERSION        the control plane's binaries (DAPR_CONTROL_PLANE in
#                                versions.env; Dapr's all-in-one image), also tagged
#                                REGISTRY/NAME:VERSION for each: the chart's default
#                                image.name and injectorImage.name of each subchart
#   REGISTRY/daprd:VERSION       the sidecar the injector adds (the sidecar injector's image.name)
# VERSION is DAPR_VERSION without its v, as the chart's global.tag.
#
# Usage: scripts/sandbox/dapr/build-images.sh --registry REGISTRY [--push] [--help]
#
# Environment:
#   TODO_SANDBOX_HOME  tool cache; image layers are kept in $TODO_SANDBOX_HOME/images
#                      (default: ~/.cache/todo-sandbox)
#   CI, NO_COLOR       plain output
set -o errexit -o nounset -o pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly script_dir
# shellcheck source=scripts/lib/log.sh
source "$script_dir/../../lib/log.sh"
# shellcheck source=scripts/sandbox/versions.env
source "$script_dir/../versions.env"
# shellcheck source=scripts/sandbox/tools.sh
source "$script_dir/../tools.sh"
# shellcheck source=scripts/lib/images.sh
source "$script_dir/../../lib/images.sh"

readonly tag=${DAPR_VERSION#v}
# The control-plane binaries, each also a repository name of its own in the chart.
read -r -a control_plane <<<"$DAPR_CONTROL_PLANE"
readonly control_plane

staging=''

usage() {
  cat <<EOF
Usage: scripts/sandbox/dapr/build-images.sh --registry REGISTRY [--push] [--help]

Builds Dapr $DAPR_VERSION's images from the sandbox's binaries (install-tools.sh:
dapr-control-plane and daprd, installed first when missing), named as Dapr's chart asks
with global.registry=REGISTRY and global.tag=$tag:

  REGISTRY/dapr:$tag    ${control_plane[*]}
                        (Dapr's all-in-one image), also tagged REGISTRY/NAME:$tag
                        for each of them: the chart's default image names
  REGISTRY/daprd:$tag   the sidecar

  --registry REGISTRY  host[:port][/path] the images are named after, e.g. 10.220.0.1:5000
  --push               push every name to REGISTRY over plain HTTP (the sandbox's registry)
  -h, --help           this text

Layers are kept in \$TODO_SANDBOX_HOME/images (now: $TODO_SANDBOX_HOME/images), so a second
build only checks them.
EOF
}

cleanup() {
  [[ -z "$staging" ]] || rm -rf "$staging"
}

# stage_context DIR: what the Dockerfile copies: distroless' few files, and the binaries.
stage_context() {
  local dir=$1 binary
  mkdir -p "$dir/rootfs/etc/ssl/certs" "$dir/rootfs/tmp" "$dir/control-plane" "$dir/runtime"
  cp "$script_dir/passwd" "$script_dir/group" "$dir/rootfs/etc/"
  chmod 644 "$dir/rootfs/etc/passwd" "$dir/rootfs/etc/group"
  [[ -s /etc/ssl/certs/ca-certificates.crt ]] ||
    log::die "/etc/ssl/certs/ca-certificates.crt is missing; install it with: apt-get install ca-certificates" 3
  cp /etc/ssl/certs/ca-certificates.crt "$dir/rootfs/etc/ssl/certs/"
  chmod 1777 "$dir/rootfs/tmp"
  for binary in "${control_plane[@]}"; do
    cp "$(tool_dir dapr-control-plane)/bin/$binary" "$dir/control-plane/"
  done
  cp "$(tool_dir daprd)/bin/daprd" "$dir/runtime/"
  # Fixed times make a rebuild from the same binaries produce the same layers, which the
  # registry and the node then already hold.
  find "$dir" -exec touch -h -d @0 {} +
}

main() {
  local registry='' push=''
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --registry)
        [[ $# -ge 2 && -n "$2" ]] || log::die "$1 needs a value (see --help)" 2
        registry=$2; shift 2 ;;
      --push) push=1; shift ;;
      -h|--help) usage; return ;;
      *) log::die "unknown argument '$1' (see --help)" 2 ;;
    esac
  done
  [[ -n "$registry" ]] || log::die "--registry is required (see --help)" 2
  images::check_registry "$registry"
  # Like the sandbox's other commands, it installs the tools it lacks first.
  local tool missing=()
  for tool in image-builder daprd dapr-control-plane; do
    [[ -f "$(tool_dir "$tool")/.installed" ]] || missing+=("$tool")
  done
  if ((${#missing[@]} > 0)); then
    bash "$script_dir/../install-tools.sh" --only "$(IFS=,; echo "${missing[*]}")"
  fi
  require_tools image-builder daprd dapr-control-plane

  trap cleanup EXIT
  mkdir -p "$TODO_SANDBOX_HOME/build"
  staging=$(mktemp -d "$TODO_SANDBOX_HOME/build/dapr-images.XXXXXX")
  stage_context "$staging"

  images::find_builder buildah
  images::setup_registry "$registry" insecure
  local name all_in_one="$registry/dapr:$tag" sidecar="$registry/daprd:$tag"
  images::build "$all_in_one" "$script_dir/Dockerfile" "$staging" PKG_FILES=control-plane
  images::build "$sidecar" "$script_dir/Dockerfile" "$staging" PKG_FILES=runtime
  local names=("$all_in_one" "$sidecar")
  for name in "${control_plane[@]}"; do
    images::tag "$all_in_one" "$registry/$name:$tag"
    names+=("$registry/$name:$tag")
  done
  [[ -n "$push" ]] || return 0
  for name in "${names[@]}"; do images::push "$name"; done
}

main "$@"
