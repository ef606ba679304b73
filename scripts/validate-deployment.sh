#!/usr/bin/env bash
# The CI gate after a deploy: runs the validation suite (suites/cli.ts) against a release and
# exits 0 only when every check passed; a skipped check fails it too (the suite's --strict),
# unless allowed. Prints where the report is.
#
# Usage: scripts/validate-deployment.sh [--context CTX] [--kubeconfig FILE] [--namespace NS]
#          [--release NAME] [--report-dir DIR] [--no-strict] [--help] [-- SUITE_ARGS...]
#
# Environment:
#   KUBECTL, HELM        kubectl and helm to use (default: on PATH, else the sandbox's)
#   TODO_SANDBOX_HOME    sandbox tool cache, searched for kubectl and helm (default: ~/.cache/todo-sandbox)
#   KUBECONFIG           kubeconfig when --kubeconfig is not given
#   TODO_SUITE_*         the suite's own settings (see suites/README.md); flags win
#   CI, NO_COLOR         plain output
set -o errexit -o nounset -o pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
# shellcheck source=scripts/lib/log.sh
source "$script_dir/lib/log.sh"
# shellcheck source=scripts/lib/kube.sh
source "$script_dir/lib/kube.sh"

usage() {
  cat <<'EOF'
Usage: scripts/validate-deployment.sh [options] [-- SUITE_ARGS...]

Runs the validation suite (npx tsx suites/cli.ts) against a deployed release and exits with
its verdict: 0 only when every check passed. A gate proves every criterion, so a skipped
check fails the run (the suite's --strict); allow one with -- --allow-skip ID, or all with
--no-strict. Every exit leaves a report of this run, also when the target cannot be
validated or the command line is wrong: <report dir>/<run id> (report.html, report.json,
junit.xml, summary.md; <report dir>/latest points at it), and prints its path.

  --context CTX       kube context (default: the current one)
  --kubeconfig FILE   kubeconfig (default: $KUBECONFIG or ~/.kube/config)
  --namespace NS      namespace of the release (default: the context's, else todo-app)
  --release NAME      Helm release (default: todo-app)
  --report-dir DIR    where reports go (default: $TODO_SUITE_REPORT_DIR, else reports/ in
                      the repository)
  --no-strict         let skipped checks pass the gate
  -h, --help          this text
  -- SUITE_ARGS       passed to the suite as they are, e.g. -- --only pods,dapr --limit crudIterations=5
                      (npx tsx suites/cli.ts --help lists them)

EOF
  kube::exit_codes_help
}

# The run's identity, fixed before anything can fail so that whatever stops the gate, the
# report it leaves is this run's.
report_dir=${TODO_SUITE_REPORT_DIR:-$repo_root/reports}
run_id=${TODO_SUITE_RUN_ID:-$(date -u +%Y-%m-%dT%H-%M-%SZ)-$(printf '%04x' "$RANDOM")}
# What the report names as the target, as far as it is known.
target_args=()

# write_report CODE MESSAGE: the "could not validate" report of this run, unless the suite
# wrote one already; needs Node and the suite's dependencies.
write_report() {
  [[ ! -e "$report_dir/$run_id/report.json" ]] || return 0
  command -v node >/dev/null 2>&1 && [[ -x "$repo_root/node_modules/.bin/tsx" ]] || return 0
  (cd "$repo_root" && node_modules/.bin/tsx scripts/lib/unvalidated-report.ts --report-dir "$report_dir" --run-id "$run_id" \
    --exit-code "$1" --message="$2" -- ${target_args[@]+"${target_args[@]}"} >/dev/null) ||
    log::warn "no report was written for this run"
}

# stop MESSAGE CODE: one line, this run's report saying why, exit CODE.
stop() {
  log::error "$1"
  write_report "$2" "$1"
  point_at_report
  exit "$2"
}

# point_at_report: where this run's report is; nothing when this run wrote none.
point_at_report() {
  local dir="$report_dir/$run_id"
  [[ -e "$dir/report.json" ]] || return 0
  log::info "report: $(cd "$dir" && pwd -P) (junit: $dir/junit.xml)"
}

# last_value NAME ARGS...: the value of the last --NAME VALUE or --NAME=VALUE in ARGS.
last_value() {
  local name=$1 found=''; shift
  while [[ $# -gt 0 ]]; do
    case "$1" in
      "--$name") [[ $# -lt 2 ]] || found=$2 ;;
      "--$name="*) found=${1#*=} ;;
    esac
    shift
  done
  echo "$found"
}

main() {
  if kube::help_requested "$@"; then usage; return; fi
  local context='' kubeconfig='' namespace='' release=todo-app
  local suite_args=() strict=(--strict) given
  # The report directory first: a mistake anywhere on the line is reported there.
  given=$(last_value report-dir "${@}")
  [[ -z "$given" ]] || report_dir=$given
  [[ "$report_dir" == /* ]] || report_dir="$PWD/$report_dir"
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --context|--kube-context|--kubeconfig|--namespace|--release|--report-dir)
        [[ $# -ge 2 && -n "$2" ]] || stop "$1 needs a value (see --help)" 2 ;;&
      --context|--kube-context) context=$2; shift 2 ;;
      --kubeconfig) kubeconfig=$2; shift 2 ;;
      --namespace) namespace=$2; shift 2 ;;
      --release) release=$2; shift 2 ;;
      --report-dir) shift 2 ;;
      --no-strict) strict=(); shift ;;
      --) shift; suite_args=("$@"); break ;;
      -h|--help) usage; return ;;
      *) stop "unknown argument '$1' (see --help; the suite's own flags go after --)" 2 ;;
    esac
  done
  # The suite's own --report-dir and --run-id, after --, are the ones it uses.
  given=$(last_value report-dir ${suite_args[@]+"${suite_args[@]}"})
  if [[ -n "$given" ]]; then
    report_dir=$given
    [[ "$report_dir" == /* ]] || report_dir="$PWD/$report_dir"
  fi
  given=$(last_value run-id ${suite_args[@]+"${suite_args[@]}"})
  [[ -z "$given" ]] || run_id=$given
  # Paths given by the user are relative to where they ran the script; the suite runs from
  # the repository.
  [[ -z "$kubeconfig" || "$kubeconfig" == /* ]] || kubeconfig="$PWD/$kubeconfig"
  [[ -z "$kubeconfig" ]] || target_args+=(--kubeconfig "$kubeconfig")
  [[ -z "$context" ]] || target_args+=(--context "$context")
  [[ -z "$namespace" ]] || target_args+=(--namespace "$namespace")
  target_args+=(--release "$release")

  kube::require_command node "install Node.js 20 or later"
  kube::require_command npx "it comes with npm"
  [[ -d "$repo_root/node_modules/tsx" ]] || log::die "the suite's dependencies are missing; run: npm ci (in $repo_root)" 3

  # The target (kubeconfig, context, API server, namespace, release, RBAC) is the suite's
  # preflight to check: it fails with the same line and exit code as npm test and leaves a
  # report of this run saying why.
  local args=(--report-dir "$report_dir" --run-id "$run_id" "${target_args[@]}" ${strict[@]+"${strict[@]}"})
  if [[ -z "${TODO_SUITE_HELM:-}" ]]; then
    # For `helm status` / `helm history` in the diagnostics; optional.
    TODO_SUITE_HELM=$(kube::find_tool helm "${HELM:-}" 2>/dev/null) || TODO_SUITE_HELM=''
    [[ -z "$TODO_SUITE_HELM" ]] || export TODO_SUITE_HELM
  fi

  local started=$SECONDS status=0 errors
  errors=$(mktemp)
  # The suite's stderr reaches the terminal as it comes, and is kept for the report.
  { (cd "$repo_root" && exec npx --no-install tsx suites/cli.ts "${args[@]}" ${suite_args[@]+"${suite_args[@]}"}) 2>&1 1>&3 3>&- |
    tee "$errors" >&2; status=${PIPESTATUS[0]}; } 3>&1 || true
  if ((status >= 2 && status <= 9)); then
    local why
    why=$(grep -E '^(internal )?error: ' "$errors" | tail -n 1 | sed -E 's/^(internal )?error: //') || why=''
    write_report "$status" "${why:-the validation suite stopped (exit $status) without saying why}"
  fi
  rm -f "$errors"
  point_at_report
  if ((status == 0)); then
    log::info "validation passed in $(kube::duration $((SECONDS - started)))"
  elif ((status == 1)); then
    log::error "validation failed (exit 1) after $(kube::duration $((SECONDS - started))); see $report_dir/$run_id/summary.md"
  fi
  # Any other exit: the suite could not validate, and its one line above said why.
  return "$status"
}

main "$@"
