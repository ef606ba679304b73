#!/usr/bin/env bash
# npm helpers shared by the project's scripts. Sourced after scripts/lib/log.sh.

# npm::ensure_dependencies DIR WHAT: `npm ci` in DIR when node_modules is missing or older
# than package-lock.json; WHAT names the package in the progress line.
npm::ensure_dependencies() {
  local dir=$1 what=$2
  local marker="$dir/node_modules/.package-lock.json"
  if [[ -f "$marker" && "$marker" -nt "$dir/package-lock.json" ]]; then
    return
  fi
  log::step "installing $what's npm dependencies (npm ci)"
  npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
}
