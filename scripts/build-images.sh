#!/usr/bin/env bash
# Builds the project's five images from their Dockerfiles, named as the charts pull them, so
# that `helm install ... --set global.imageRegistry=REGISTRY` finds them once pushed:
# REGISTRY/todo-backend, todo-recurring-task-service, todo-notification-service,
# todo-frontend and todo-validation, each tagged with its chart's appVersion.
#
# Usage: scripts/build-images.sh --registry REGISTRY [--push] [--insecure] [--tag TAG]
#          [--builder docker|buildah] [--node-image IMAGE] [--npm-cafile FILE] [--only NAMES]
#          [--list] [--help]
#
# Environment:
#   TODO_IMAGES_HOME    buildah's storage and the build logs (default: $TODO_SANDBOX_HOME/images)
#   TODO_SANDBOX_HOME   the sandbox's cache root (default: ~/.cache/todo-sandbox)
#   CI, NO_COLOR        plain output
set -o errexit -o nounset -o pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
# shellcheck source=scripts/lib/log.sh
source "$script_dir/lib/log.sh"
# shellcheck source=scripts/lib/images.sh
source "$script_dir/lib/images.sh"

readonly image_names=(backend recurring-task-service notification-service frontend validation)
# The default of the Dockerfiles' NODE_IMAGE argument.
readonly default_node_image=node:22-bookworm-slim

usage() {
  cat <<EOF
Usage: scripts/build-images.sh --registry REGISTRY [--push] [--insecure] [--tag TAG]
         [--builder docker|buildah] [--node-image IMAGE] [--npm-cafile FILE] [--only NAMES]
         [--list] [--help]

Builds the project's images from their Dockerfiles and names them as the charts pull them,
REGISTRY/<repository>:<chart appVersion>, so that a release installed with
--set global.imageRegistry=REGISTRY finds them:

  backend                 todo-backend                 fixtures/todo-stack/docker/backend.Dockerfile
  recurring-task-service  todo-recurring-task-service  fixtures/todo-stack/docker/recurring-task-service.Dockerfile
  notification-service    todo-notification-service    fixtures/todo-stack/docker/notification-service.Dockerfile
  frontend                todo-frontend                fixtures/todo-stack/docker/frontend.Dockerfile
  validation              todo-validation              suites/Dockerfile (the validation helm test)

Prints the time each image took and its size. Uses docker when its daemon answers, else
buildah; buildah keeps its images under \$TODO_IMAGES_HOME (now: $images_home).

  --registry REGISTRY  host[:port][/path] the images are named after, and pushed to
  --push               push each image after all of them are built
  --insecure           allow plain HTTP to REGISTRY (always allowed for localhost and
                       127.0.0.1; buildah only: docker reads its daemon's
                       insecure-registries setting)
  --tag TAG            tag every image TAG instead of its chart's appVersion
  --builder NAME       docker or buildah instead of the automatic choice
  --node-image IMAGE   base image of every Dockerfile (NODE_IMAGE; default: $default_node_image)
  --npm-cafile FILE    npm in the builds trusts the CA certificates in FILE (PEM), for a
                       registry behind a TLS-inspecting proxy; buildah only, kept out of
                       the images
  --only NAMES         build only these images (comma separated names from the list above)
  --list               print the image each name would be built as, and build nothing
  --help               this text
EOF
}

# --- the images ------------------------------------------------------------------------

image_repository() {
  case "$1" in
    validation) echo todo-validation ;;
    *) echo "todo-$1" ;;
  esac
}

image_dockerfile() {
  case "$1" in
    validation) echo "$repo_root/suites/Dockerfile" ;;
    *) echo "$repo_root/fixtures/todo-stack/docker/$1.Dockerfile" ;;
  esac
}

image_context() {
  case "$1" in
    validation) echo "$repo_root" ;;
    *) echo "$repo_root/fixtures/todo-stack" ;;
  esac
}

# The chart whose appVersion tags the image; the validation Pod belongs to the umbrella chart.
image_chart() {
  case "$1" in
    validation) echo "$repo_root/helm/todo-app" ;;
    *) echo "$repo_root/helm/$1" ;;
  esac
}

chart_app_version() {
  local version
  version=$(sed -n 's/^appVersion:[[:space:]]*"\{0,1\}\([^"]*\)"\{0,1\}[[:space:]]*$/\1/p' "$1/Chart.yaml")
  [[ -n "$version" ]] || log::die "no appVersion in $1/Chart.yaml" 1
  echo "$version"
}

# select_images NAMES: the known names in NAMES (comma separated), in build order.
select_images() {
  local requested=$1 name known
  local -a wanted
  IFS=, read -r -a wanted <<<"$requested"
  [[ ${#wanted[@]} -gt 0 ]] || log::die "--only needs at least one name (images: ${image_names[*]})" 2
  for name in "${wanted[@]}"; do
    known=''
    local candidate
    for candidate in "${image_names[@]}"; do
      [[ "$candidate" == "$name" ]] && known=1
    done
    [[ -n "$known" ]] || log::die "unknown image '$name' in --only (images: ${image_names[*]})" 2
  done
  for candidate in "${image_names[@]}"; do
    for name in "${wanted[@]}"; do
      if [[ "$candidate" == "$name" ]]; then echo "$candidate"; break; fi
    done
  done
}

# --- main -------------------------------------------------------------------------------

need_value() {
  [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || log::die "$1 needs a value (see --help)" 2
}

main() {
  local registry='' push='' insecure='' tag='' builder='' node_image=$default_node_image only='' list=''
  local npm_cafile=''
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --registry) need_value "$@"; registry=${2%/}; shift 2 ;;
      --push) push=1; shift ;;
      --insecure) insecure=1; shift ;;
      --tag) need_value "$@"; tag=$2; shift 2 ;;
      --builder) need_value "$@"; builder=$2; shift 2 ;;
      --node-image) need_value "$@"; node_image=$2; shift 2 ;;
      --npm-cafile) need_value "$@"; npm_cafile=$2; shift 2 ;;
      --only) need_value "$@"; only=$2; shift 2 ;;
      --list) list=1; shift ;;
      -h|--help) usage; return ;;
      *) log::die "unknown argument '$1' (see --help)" 2 ;;
    esac
  done
  [[ -n "$registry" ]] || log::die "--registry is required: the registry the images are named after (see --help)" 2
  images::check_registry "$registry"
  case "$builder" in
    ''|docker|buildah) ;;
    *) log::die "--builder must be docker or buildah, not '$builder'" 2 ;;
  esac
  if [[ -n "$tag" && ! "$tag" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]]; then
    log::die "--tag '$tag' is not a valid image tag" 2
  fi

  local -a selected
  mapfile -t selected < <(select_images "${only:-$(IFS=,; echo "${image_names[*]}")}")
  # select_images dies in a subshell; an empty list means it did.
  [[ ${#selected[@]} -gt 0 ]] || exit 2

  local name references=()
  for name in "${selected[@]}"; do
    references+=("$registry/$(image_repository "$name"):${tag:-$(chart_app_version "$(image_chart "$name")")}")
  done
  if [[ -n "$list" ]]; then
    local i
    for i in "${!selected[@]}"; do
      printf '%-24s %s\n' "${selected[$i]}" "${references[$i]}"
    done
    return
  fi

  images::find_builder "$builder"
  images::setup_registry "$registry" "$insecure"
  if [[ -n "$npm_cafile" ]]; then images::use_npm_cafile "$npm_cafile"; fi
  local base
  base=$(images::qualify "$node_image")
  log::info "builder: $images_builder; base image: $base"

  local i
  for i in "${!selected[@]}"; do
    name=${selected[$i]}
    images::build "${references[$i]}" "$(image_dockerfile "$name")" "$(image_context "$name")" "NODE_IMAGE=$base"
  done
  if [[ -n "$push" ]]; then
    for i in "${!references[@]}"; do
      images::push "${references[$i]}"
    done
  fi
  images::summary
  if [[ -n "$push" ]]; then
    log::info "pushed; install with: helm upgrade --install todo-app helm/todo-app --set global.imageRegistry=$registry"
  fi
}

main "$@"
