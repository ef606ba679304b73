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

# The same storage as the sandbox's other images, so layers survive `down`.
sandbox_buildah() {
  "$(tool_dir image-builder)/bin/buildah" \
    --root "$TODO_SANDBOX_HOME/images/storage" --runroot "$TODO_SANDBOX_HOME/images/run" \
    --storage-driver overlay "$@"
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

# build PKG_FILES IMAGE: one image from the Dockerfile.
build() {
  local files=$1 image=$2
  sandbox_buildah bud --quiet --isolation chroot --layers -f "$script_dir/Dockerfile" \
    --build-arg "PKG_FILES=$files" -t "$image" "$staging" >/dev/null ||
    log::die "building $image failed (see the buildah output above)" 1
}

image_size() {
  sandbox_buildah images --format '{{.Size}}' "$1" | head -n 1
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
  [[ "$registry" =~ ^[A-Za-z0-9.-]+(:[0-9]+)?(/[a-z0-9._/-]+)?$ && "$registry" != */ ]] ||
    log::die "--registry '$registry' is not host[:port][/path] (no scheme, no trailing /)" 2
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

  local started=$SECONDS name
  local all_in_one="$registry/dapr:$tag" sidecar="$registry/daprd:$tag"
  log::step "building $all_in_one (${control_plane[*]}) and $sidecar"
  build control-plane "$all_in_one"
  build runtime "$sidecar"
  local names=("$all_in_one" "$sidecar")
  for name in "${control_plane[@]}"; do
    sandbox_buildah tag "$all_in_one" "$registry/$name:$tag"
    names+=("$registry/$name:$tag")
  done
  log::info "built in $((SECONDS - started)) s: $all_in_one $(image_size "$all_in_one"), $sidecar $(image_size "$sidecar")"

  [[ -n "$push" ]] || return 0
  started=$SECONDS
  log::step "pushing ${#names[@]} names to $registry"
  for name in "${names[@]}"; do
    sandbox_buildah push --quiet --tls-verify=false "$name" "docker://$name" ||
      log::die "pushing $name failed; is the registry at $registry up?" 1
  done
  log::info "pushed in $((SECONDS - started)) s: ${names[*]}"
}

main "$@"
