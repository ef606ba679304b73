#!/usr/bin/env bash
# Building the stack's images beside the Go tools, for `npm run demo` and `npm run check` on
# a machine still without the tools. Sourced; expects scripts/lib/log.sh, versions.env,
# tools.sh and common.sh to be sourced first.
# shellcheck disable=SC2154  # sandbox_* names come from common.sh, sourced first

# The stack's images need none of the Go tools: on a machine still without them, they build
# beside them (and beside the sandbox coming up), on the core a Go build leaves idle while it
# links or downloads. prepare-stack.sh then finds every layer built and only pushes. With the
# tools there, that would only check the layers twice.
images_pid=''
images_log=''

go_tools_missing() {
  local tool
  for tool in kubernetes kubernetes-node daprd dapr-control-plane helm coredns registry metrics-server kube-router metallb traefik; do
    [[ -f "$(tool_dir "$tool")/.installed" ]] || return 0
  done
  return 1
}

build_images_beside() {
  mkdir -p "$sandbox_logs"
  images_log="$sandbox_logs/images-beside.log"
  # A session of its own, so that stopping it stops buildah too.
  setsid bash "$sandbox_repo_root/scripts/sandbox/images/build.sh" --registry "$sandbox_registry_address" >"$images_log" 2>&1 &
  images_pid=$!
  log::info "building the stack's images beside the tools and the sandbox (log: $images_log)"
}

wait_for_images() {
  local started=$SECONDS
  wait "$images_pid" || log::die "building the stack's images failed; see $images_log" 1
  images_pid=''
  log::info "images built beside the tools and the sandbox (waited $((SECONDS - started)) s for them)"
}

stop_images_build() {
  [[ -n "$images_pid" ]] || return 0
  kill -- "-$images_pid" 2>/dev/null || true
  wait "$images_pid" 2>/dev/null || true
}
