#!/usr/bin/env bash
# Installs what a fresh machine lacks for the project's commands: Debian packages, the npm
# dependencies, and the sandbox's tools. Each part is skipped when already present, and
# says what it is doing while it runs.
#
# Usage: scripts/setup.sh [--for demo|check] [--help]
#
# Environment:
#   TODO_SANDBOX_HOME  tool cache (default: ~/.cache/todo-sandbox)
#   CI, NO_COLOR       plain output
set -o errexit -o nounset -o pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
# shellcheck source=scripts/lib/log.sh
source "$script_dir/lib/log.sh"
# shellcheck source=scripts/lib/npm.sh
source "$script_dir/lib/npm.sh"

readonly debian_packages=(openssl curl wget shellcheck ca-certificates)

usage() {
  cat <<EOF
Usage: scripts/setup.sh [--for images|demo|check] [--help]

Installs missing Debian packages (${debian_packages[*]}), runs npm ci when node_modules is
missing or older than package-lock.json, and builds the sandbox's tools.

  --for images  only what building the sandbox's images needs (buildah, mmdebstrap, Kafka's jars)
  --for demo   only the tools npm run demo uses (not helm4, which only the chart tests use)
  --for check  every tool (the default)
EOF
}

install_debian_packages() {
  local missing=() package
  for package in "${debian_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  ((${#missing[@]} == 0)) && return
  [[ $(id -u) -eq 0 ]] || log::die "missing Debian packages: ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" 3
  log::step "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

main() {
  local tools_args=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --for)
        [[ $# -ge 2 ]] || log::die "--for needs images, demo or check" 2
        case "$2" in
          images) tools_args=(--only 'image-builder,kafka') ;;
          demo) tools_args=(--except helm4) ;;
          check) tools_args=() ;;
          *) log::die "--for takes images, demo or check, not '$2'" 2 ;;
        esac
        shift 2 ;;
      -h|--help) usage; return ;;
      *) log::die "unknown argument '$1' (see --help)" 2 ;;
    esac
  done
  install_debian_packages
  npm::ensure_dependencies "$repo_root" "the project"
  bash "$script_dir/sandbox/install-tools.sh" "${tools_args[@]}"
}

main "$@"
