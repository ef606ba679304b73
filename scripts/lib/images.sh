#!/usr/bin/env bash
# Building, measuring and pushing container images with docker or buildah, shared by
# scripts/build-images.sh and scripts/sandbox/images/build.sh. Sourced after
# scripts/lib/log.sh.
#
# buildah keeps its images out of the system's store (/var/lib/containers): everything goes
# under $TODO_IMAGES_HOME, described by a storage.conf there, so that
#   CONTAINERS_STORAGE_CONF=$TODO_IMAGES_HOME/storage.conf buildah images
# shows what the scripts built.
#
# Environment:
#   TODO_IMAGES_HOME    buildah's storage, build logs and caches
#                       (default: $TODO_SANDBOX_HOME/images)
#   TODO_SANDBOX_HOME   the sandbox's cache root (default: ~/.cache/todo-sandbox)
# shellcheck disable=SC2034  # images_* variables are read by the scripts that source this file

images_home=${TODO_IMAGES_HOME:-${TODO_SANDBOX_HOME:-$HOME/.cache/todo-sandbox}/images}
images_builder=''
# Plain HTTP towards the registry; set by images::setup_registry.
images_plain_http=''
# One "reference|seconds|bytes" line per image built, for images::summary.
images_built=()
# Extra bind mounts for buildah's RUN steps (images::use_npm_cafile).
images_run_volumes=()

# images::find_builder WANTED: set images_builder to docker or buildah. Empty WANTED picks
# docker when its daemon answers, else buildah. Dies (exit 3) saying what to install.
images::find_builder() {
  local wanted=$1
  case "$wanted" in
    docker)
      command -v docker >/dev/null 2>&1 || log::die "docker not found on PATH; install Docker or use --builder buildah" 3
      images::docker_answers || log::die "the Docker daemon does not answer (docker info failed); start it or use --builder buildah" 3
      ;;
    buildah)
      command -v buildah >/dev/null 2>&1 || log::die "buildah not found on PATH; install it (apt-get install buildah) or use --builder docker" 3
      ;;
    '')
      if command -v docker >/dev/null 2>&1 && images::docker_answers; then
        wanted=docker
      elif command -v buildah >/dev/null 2>&1; then
        wanted=buildah
      elif command -v docker >/dev/null 2>&1; then
        log::die "the Docker daemon does not answer and buildah is not installed; start Docker or install buildah (apt-get install buildah)" 3
      else
        log::die "no image builder found; install Docker or buildah (apt-get install buildah)" 3
      fi
      ;;
    *) log::die "--builder must be docker or buildah, not '$wanted'" 2 ;;
  esac
  images_builder=$wanted
  if [[ "$images_builder" == buildah ]]; then
    images::buildah_storage
  fi
}

images::docker_answers() {
  timeout 15 docker info >/dev/null 2>&1
}

# A storage.conf of our own: graph and run roots under images_home, overlay driver.
images::buildah_storage() {
  mkdir -p "$images_home/storage" "$images_home/run" "$images_home/logs"
  local conf="$images_home/storage.conf" wanted
  wanted=$(printf '[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrunroot = "%s"\n' \
    "$images_home/storage" "$images_home/run")
  if [[ ! -f "$conf" || "$(cat "$conf")" != "$wanted" ]]; then
    printf '%s\n' "$wanted" >"$conf"
  fi
  export CONTAINERS_STORAGE_CONF="$conf"
  # RUN steps in a chroot: no OCI runtime, network namespace or cgroup setup needed.
  export BUILDAH_ISOLATION=chroot
}

# images::check_registry REGISTRY: a registry reference: host[:port][/path], no scheme.
images::check_registry() {
  local registry=$1
  [[ -n "$registry" ]] || log::die "--registry needs a value (for example registry.example.com/todo or 127.0.0.1:5000)" 2
  [[ "$registry" != *://* ]] || log::die "--registry takes host[:port][/path] without a scheme, not '$registry'" 2
  local host='([A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:]+\])' path='(/[a-z0-9][a-z0-9._-]*)*'
  [[ "$registry" =~ ^$host(:[0-9]+)?$path$ ]] || log::die "--registry '$registry' is not host[:port][/path]" 2
}

# images::setup_registry REGISTRY INSECURE: plain HTTP is allowed for a registry on this
# machine's loopback, or one the user marked insecure; anything else needs TLS.
images::setup_registry() {
  local host=${1%%/*} insecure=$2
  if [[ "$host" =~ ^(.*):[0-9]+$ ]]; then host=${BASH_REMATCH[1]}; fi
  case "$host" in
    localhost|127.*|'[::1]') images_plain_http=1 ;;
    *) images_plain_http=$insecure ;;
  esac
}

# images::qualify IMAGE: a fully qualified name, so that buildah never asks which registry
# a short name means (docker resolves short names to docker.io the same way).
images::qualify() {
  local image=$1 first=${1%%/*}
  if [[ "$image" != */* ]]; then
    echo "docker.io/library/$image"
  elif [[ "$first" == *.* || "$first" == *:* || "$first" == localhost ]]; then
    echo "$image"
  else
    echo "docker.io/$image"
  fi
}

# images::use_npm_cafile FILE: npm in buildah's RUN steps trusts the CA certificates in FILE
# (PEM), for a registry reached through a TLS-inspecting proxy. npm reads its global
# configuration from <prefix>/etc/npmrc, and /usr/local/etc is an empty directory in the
# node images (Debian's and the sandbox's alike): a directory holding that npmrc and the
# certificates is mounted there, read-only, for the RUN steps only, so no image keeps
# either, nor an empty mount point.
images::use_npm_cafile() {
  local cafile=$1 dir="$images_home/build-npm"
  [[ -r "$cafile" ]] || log::die "--npm-cafile: cannot read '$cafile'" 2
  grep -q -- '-----BEGIN CERTIFICATE-----' "$cafile" || log::die "--npm-cafile: no PEM certificate in '$cafile'" 2
  [[ "$images_builder" == buildah ]] ||
    log::die "--npm-cafile needs buildah (docker build cannot mount files into RUN steps)" 2
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$cafile" "$dir/npm-ca-certificates.crt"
  echo "cafile=/usr/local/etc/npm-ca-certificates.crt" >"$dir/npmrc"
  images_run_volumes+=(--volume "$dir:/usr/local/etc:ro")
}

images::buildah_tls_flag() {
  if [[ -n "$images_plain_http" ]]; then echo "--tls-verify=false"; else echo "--tls-verify=true"; fi
}

# images::build REFERENCE DOCKERFILE CONTEXT [BUILD-ARG...]: build one image (each
# BUILD-ARG is NAME=VALUE), its output in a log; then print the time taken and the size.
images::build() {
  local reference=$1 dockerfile=$2 context=$3
  shift 3
  local log_file
  log_file="$images_home/logs/$(tr '/:' '__' <<<"$reference").log"
  mkdir -p "$images_home/logs"
  local args=() arg
  for arg in "$@"; do args+=(--build-arg "$arg"); done
  log::step "building $reference (log: $log_file)"
  local started=$EPOCHREALTIME status=0
  if [[ "$images_builder" == docker ]]; then
    docker build --file "$dockerfile" --tag "$reference" "${args[@]}" "$context" >"$log_file" 2>&1 || status=$?
  else
    # --layers: a step whose inputs did not change is taken from the cache, so the npm ci
    # stages the service images share are built once. --pull=false pulls a base image only
    # when it is not in the store yet, as docker build does.
    buildah build --layers --force-rm --pull=false --isolation chroot "$(images::buildah_tls_flag)" \
      "${images_run_volumes[@]}" --file "$dockerfile" --tag "$reference" "${args[@]}" "$context" >"$log_file" 2>&1 || status=$?
  fi
  if [[ "$status" -ne 0 ]]; then
    log::error "building $reference failed; log: $log_file (last 30 lines follow)"
    tail -n 30 "$log_file" >&2
    exit 1
  fi
  local seconds bytes
  seconds=$(images::elapsed "$started")
  bytes=$(images::size "$reference")
  images_built+=("$reference|$seconds|$bytes")
  log::info "$reference built in $seconds s, $(images::megabytes "$bytes") MB"
}

images::elapsed() {
  awk -v start="$1" -v end="$EPOCHREALTIME" 'BEGIN { printf "%.1f", end - start }'
}

images::megabytes() {
  awk -v bytes="$1" 'BEGIN { printf "%.1f", bytes / 1000000 }'
}

# images::size REFERENCE: the image's size in bytes, uncompressed, as the builder counts it.
images::size() {
  if [[ "$images_builder" == docker ]]; then
    docker image inspect --format '{{.Size}}' "$1"
  else
    # The layers of a local image are uncompressed, so their sizes add up to what
    # `buildah images` shows, but in bytes.
    buildah inspect --type image --format '{{.Manifest}}' "$1" |
      python3 -c 'import json, sys; print(sum(layer["size"] for layer in json.load(sys.stdin)["layers"]))'
  fi
}

# images::tag SOURCE TARGET: another name for an image already built.
images::tag() {
  if [[ "$images_builder" == docker ]]; then
    docker tag "$1" "$2"
  else
    buildah tag "$1" "$2"
  fi
}

# images::exists REFERENCE: whether the builder's store holds the image.
images::exists() {
  if [[ "$images_builder" == docker ]]; then
    docker image inspect "$1" >/dev/null 2>&1
  else
    buildah inspect --type image "$1" >/dev/null 2>&1
  fi
}

# images::push REFERENCE: push to the registry its name starts with.
images::push() {
  local reference=$1 log_file
  log_file="$images_home/logs/push-$(tr '/:' '__' <<<"$reference").log"
  local started=$EPOCHREALTIME status=0
  if [[ "$images_builder" == docker ]]; then
    docker push "$reference" >"$log_file" 2>&1 || status=$?
  else
    buildah push "$(images::buildah_tls_flag)" "$reference" "docker://$reference" >"$log_file" 2>&1 || status=$?
  fi
  if [[ "$status" -ne 0 ]]; then
    log::error "pushing $reference failed; log: $log_file (last 15 lines follow)"
    tail -n 15 "$log_file" >&2
    exit 1
  fi
  log::info "pushed $reference in $(images::elapsed "$started") s"
}

# images::summary: one line per image built, then the total.
images::summary() {
  [[ ${#images_built[@]} -gt 0 ]] || return 0
  local line reference seconds bytes total=0
  printf '%-64s %9s %10s\n' image seconds MB
  for line in "${images_built[@]}"; do
    IFS='|' read -r reference seconds bytes <<<"$line"
    printf '%-64s %9s %10s\n' "$reference" "$seconds" "$(images::megabytes "$bytes")"
    total=$(awk -v a="$total" -v b="$seconds" 'BEGIN { printf "%.1f", a + b }')
  done
  printf '%-64s %9s\n' total "$total"
}
