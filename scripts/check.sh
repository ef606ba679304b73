#!/usr/bin/env bash
# The project's own tests (`npm run check`): static checks, unit and chart tests, the
# sandbox end-to-end tests, the reference stack's tests, and last the sandbox lifecycle.
# Runs on a sandbox of its own (.sandbox-check, other ports and addresses), so a sandbox
# brought up by `npm run demo` is left alone.
#
# Usage: scripts/check.sh [--help]
#
# Environment:
#   TODO_SANDBOX_HOME  tool cache (default: ~/.cache/todo-sandbox)
#   CI, NO_COLOR       plain output
set -o errexit -o nounset -o pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
# shellcheck source=scripts/lib/log.sh
source "$script_dir/lib/log.sh"

# The check sandbox: its own state directory, ports, address ranges and link names, so that
# it runs beside a sandbox brought up by `npm run demo`.
export TODO_SANDBOX_DIR="$repo_root/.sandbox-check"
export TODO_SANDBOX_ETCD_PORT=26790 TODO_SANDBOX_ETCD_PEER_PORT=26800 TODO_SANDBOX_API_PORT=19443
export TODO_SANDBOX_KCM_PORT=23257 TODO_SANDBOX_SCHEDULER_PORT=23259 TODO_SANDBOX_POSTGRES_PORT=28432
export TODO_SANDBOX_REGISTRY_PORT=5003
export TODO_SANDBOX_HOST_NET=10.230.0 TODO_SANDBOX_POD_NET=10.231 TODO_SANDBOX_SERVICE_NET=10.232
export TODO_SANDBOX_LINK_PREFIX=tdchk

# shellcheck source=scripts/sandbox/versions.env
source "$script_dir/sandbox/versions.env"
# shellcheck source=scripts/sandbox/tools.sh
source "$script_dir/sandbox/tools.sh"
# shellcheck source=scripts/sandbox/common.sh
source "$script_dir/sandbox/common.sh"
# shellcheck source=scripts/sandbox/images/beside.sh
source "$script_dir/sandbox/images/beside.sh"

results_dir="$repo_root/reports/check"

usage() {
  cat <<EOF
Usage: scripts/check.sh [--help]

Runs every test of the project and ends with one line: 'check: N passed, N failed, N skipped'.
Test results (JSON) are kept in reports/check/.
EOF
}

stage_names=()
stage_seconds=()

stage() {
  local name=$1; shift
  log::step "$name"
  local started=$SECONDS rc=0
  "$@" || rc=$?
  stage_names+=("$name")
  stage_seconds+=($((SECONDS - started)))
  if ((rc != 0)); then log::error "stage failed: $name"; fi
  return "$rc"
}

static_checks() {
  local scripts=()
  mapfile -t scripts < <(cd "$repo_root" && find scripts helm fixtures -name '*.sh' -not -path '*/node_modules/*' 2>/dev/null; echo .ci/run)
  (cd "$repo_root" && shellcheck -x "${scripts[@]}")
  log::info "shellcheck: ${#scripts[@]} scripts clean"
  (cd "$repo_root" && npx tsc --noEmit -p .)
  npm run --prefix "$repo_root/fixtures/todo-stack" --silent typecheck
  log::info "tsc: no type errors (project and reference stack)"
}

# vitest_stage NAME DIR [ENV=VALUE...]: one vitest run in DIR, its results kept as JSON
# for the summary.
vitest_stage() {
  local name=$1 dir=$2; shift 2
  (cd "$dir" && env "$@" npx vitest run --reporter=default \
    --reporter=json --outputFile.json="$results_dir/$name.json")
}

set_up() {
  bash "$script_dir/setup.sh" --for images
  if go_tools_missing; then build_images_beside; fi
  bash "$script_dir/setup.sh"
}

sandbox_up() {
  bash "$script_dir/sandbox/up.sh"
  [[ -z "$images_pid" ]] || wait_for_images
  bash "$script_dir/sandbox/prepare-stack.sh"
}

cleanup() {
  # Whatever happened, leave no build or sandbox process behind.
  stop_images_build
  if [[ -d "$TODO_SANDBOX_DIR" ]]; then
    bash "$script_dir/sandbox/down.sh" >/dev/null 2>&1 || true
  fi
}

# summarize: the name and first message line of every failed test (so that the tail of a CI
# log says what failed), then the one-line count.
summarize() {
  node - "$results_dir" "$repo_root" <<'EOF'
const { readdirSync, readFileSync } = require('node:fs');
const { join, relative } = require('node:path');
const [dir, root] = process.argv.slice(2);
const firstLine = (text) =>
  (text ?? '').replace(/\u001b\[[0-9;]*m/g, '').split('\n').find((line) => line.trim() !== '')?.trim().slice(0, 300) ?? '';
let passed = 0, failed = 0, skipped = 0;
const failures = [];
for (const file of readdirSync(dir).filter((name) => name.endsWith('.json')).sort()) {
  const result = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  passed += result.numPassedTests ?? 0;
  failed += result.numFailedTests ?? 0;
  skipped += (result.numPendingTests ?? 0) + (result.numTodoTests ?? 0);
  for (const suite of result.testResults ?? []) {
    const where = relative(root, suite.name);
    const failedTests = (suite.assertionResults ?? []).filter((test) => test.status === 'failed');
    for (const test of failedTests) failures.push(`${where} > ${test.fullName}\n      ${firstLine(test.failureMessages?.[0])}`);
    if (failedTests.length === 0 && suite.status === 'failed') failures.push(`${where}\n      ${firstLine(suite.message)}`);
  }
}
if (failures.length > 0) console.log(`\nfailed:\n${failures.map((line) => `  ${line}`).join('\n')}\n`);
console.log(`check: ${passed} passed, ${failed} failed, ${skipped} skipped`);
EOF
}

main() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      -h|--help) usage; return ;;
      *) log::die "unknown argument '$1' (see --help)" 2 ;;
    esac
  done

  trap cleanup EXIT
  rm -rf "$results_dir"; mkdir -p "$results_dir"
  local status=0
  stage "set-up (tools, dependencies)" set_up
  stage "reference stack build" bash "$script_dir/build-stack.sh"
  stage "static checks (shellcheck, tsc)" static_checks
  stage "sandbox up (images, Dapr)" sandbox_up
  stage "unit, chart, suite and sandbox tests" vitest_stage main "$repo_root" || status=1
  stage "reference stack tests" vitest_stage todo-stack "$repo_root/fixtures/todo-stack" || status=1
  stage "real node: demo and faults" vitest_stage node "$repo_root" TODO_CHECK_STAGE=node || status=1
  stage "sandbox lifecycle" vitest_stage lifecycle "$repo_root" TODO_CHECK_STAGE=lifecycle || status=1

  local index
  echo
  for index in "${!stage_names[@]}"; do
    printf '  %-40s %4d s\n' "${stage_names[index]}" "${stage_seconds[index]}"
  done
  summarize
  return "$status"
}

main "$@"
