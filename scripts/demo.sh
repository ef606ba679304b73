#!/usr/bin/env bash
# `npm run demo`: brings up the local sandbox cluster (installing what is missing first)
# and shows what runs in it. Running it again reuses the sandbox that is already up.
#
# Usage: scripts/demo.sh [--help]
#
# Environment:
#   TODO_SANDBOX_HOME, TODO_SANDBOX_DIR, TODO_SANDBOX_*_PORT  as for scripts/sandbox/up.sh
#   CI, NO_COLOR                                            plain output
set -o errexit -o nounset -o pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/log.sh
source "$script_dir/lib/log.sh"

usage() {
  cat <<EOF
Usage: scripts/demo.sh [--help]

Installs what is missing (Debian packages, npm dependencies, the sandbox's tools), brings
the sandbox cluster up, and prints its status: processes, node and namespaces.
Stop it with: npm run sandbox:down
EOF
}

main() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      -h|--help) usage; return ;;
      *) log::die "unknown argument '$1' (see --help)" 2 ;;
    esac
  done
  local started=$SECONDS
  log::step "set-up: tools and dependencies"
  bash "$script_dir/setup.sh"
  log::step "sandbox"
  bash "$script_dir/sandbox/up.sh"
  echo
  bash "$script_dir/sandbox/status.sh"
  echo
  log::info "demo ready in $((SECONDS - started)) s; stop the sandbox with: npm run sandbox:down"
}

main "$@"
