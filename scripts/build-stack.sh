#!/usr/bin/env bash
# Installs and builds the reference Todo stack (fixtures/todo-stack), whose build output
# the sandbox runs in place of the todo-* images. Skips what is already up to date.
#
# Usage: scripts/build-stack.sh [--force] [--help]
#
# Environment:
#   CI, NO_COLOR  plain output
set -o errexit -o nounset -o pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stack_dir=$(cd "$script_dir/../fixtures/todo-stack" && pwd)
# shellcheck source=scripts/lib/log.sh
source "$script_dir/lib/log.sh"
# shellcheck source=scripts/lib/npm.sh
source "$script_dir/lib/npm.sh"

readonly build_stamp="$stack_dir/dist/.build-stamp"

usage() {
  cat <<EOF
Usage: scripts/build-stack.sh [--force] [--help]

Runs npm ci in fixtures/todo-stack when its dependencies are missing or stale, then builds
the services and the frontend when a source file changed since the last build.

  --force  build even when nothing changed
EOF
}

build_needed() {
  [[ -f "$build_stamp" ]] || return 0
  local changed
  changed=$(find "$stack_dir/src" "$stack_dir/frontend" "$stack_dir/package-lock.json" \
    -path "$stack_dir/frontend/.next" -prune -o -type f -newer "$build_stamp" -print -quit)
  [[ -n "$changed" ]]
}

main() {
  local force=''
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --force) force=1; shift ;;
      -h|--help) usage; return ;;
      *) log::die "unknown argument '$1' (see --help)" 2 ;;
    esac
  done
  npm::ensure_dependencies "$stack_dir" "the reference stack"
  if [[ -z "$force" ]] && ! build_needed; then
    log::info "reference stack is built and up to date"
    return
  fi
  log::step "building the reference stack (services and Next.js frontend)"
  local started=$SECONDS
  # Next.js would otherwise report telemetry over the network.
  NEXT_TELEMETRY_DISABLED=1 npm run --prefix "$stack_dir" --silent build
  touch "$build_stamp"
  log::info "reference stack built in $((SECONDS - started)) s"
}

main "$@"
