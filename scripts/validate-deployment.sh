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
--no-strict. Prints the report's path (<report dir>/latest: report.html, report.json,
junit.xml, summary.md).

  --context CTX       kube context (default: the current one)
  --kubeconfig FILE   kubeconfig (default: $KUBECONFIG or ~/.kube/config)
  --namespace NS      namespace of the release (default: the context's, else todo-app)
  --release NAME      Helm release (default: todo-app)
  --report-dir DIR    where reports go (default: reports/ in the repository)
  --no-strict         let skipped checks pass the gate
  -h, --help          this text
  -- SUITE_ARGS       passed to the suite as they are, e.g. -- --only pods,dapr --limit crudIterations=5
                      (npx tsx suites/cli.ts --help lists them)

Exit codes: the suite's: 0 every check passed, 1 a check failed, 2 bad usage, 3 tool or
kubeconfig missing, 4 context invalid, 5 cluster unreachable, 6 namespace missing, 7 release
missing, 8 RBAC forbids a needed call, 9 internal error.
EOF
  kube::exit_codes_help
}

main() {
  if kube::help_requested "$@"; then usage; return; fi
  local context='' kubeconfig='' namespace='' release=todo-app report_dir="$repo_root/reports"
  local suite_args=() strict=(--strict)
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --context|--kube-context|--kubeconfig|--namespace|--release|--report-dir)
        [[ $# -ge 2 && -n "$2" ]] || log::die "$1 needs a value (see --help)" 2 ;;&
      --context|--kube-context) context=$2; shift 2 ;;
      --kubeconfig) kubeconfig=$2; shift 2 ;;
      --namespace) namespace=$2; shift 2 ;;
      --release) release=$2; shift 2 ;;
      --report-dir) report_dir=$2; shift 2 ;;
      --no-strict) strict=(); shift ;;
      --) shift; suite_args=("$@"); break ;;
      -h|--help) usage; return ;;
      *) log::die "unknown argument '$1' (see --help; the suite's own flags go after --)" 2 ;;
    esac
  done
  # Paths given by the user are relative to where they ran the script; the suite runs from
  # the repository.
  [[ "$report_dir" == /* ]] || report_dir="$PWD/$report_dir"
  [[ -z "$kubeconfig" || "$kubeconfig" == /* ]] || kubeconfig="$PWD/$kubeconfig"

  kube::require_command node "install Node.js 20 or later"
  kube::require_command npx "it comes with npm"
  [[ -d "$repo_root/node_modules/tsx" ]] || log::die "the suite's dependencies are missing; run: npm ci (in $repo_root)" 3
  kube::setup "$kubeconfig" "$context"
  namespace=$(kube::resolve_namespace "$namespace")
  kube::check_reachable
  kube::check_namespace "$namespace"

  local args=(--namespace "$namespace" --release "$release" --report-dir "$report_dir" ${strict[@]+"${strict[@]}"})
  [[ -z "$kubeconfig" ]] || args+=(--kubeconfig "$kubeconfig")
  [[ -z "$context" ]] || args+=(--context "$context")
  if [[ -z "${TODO_SUITE_HELM:-}" ]]; then
    # For `helm status` / `helm history` in the diagnostics; optional.
    TODO_SUITE_HELM=$(kube::find_tool helm "${HELM:-}" 2>/dev/null) || TODO_SUITE_HELM=''
    [[ -z "$TODO_SUITE_HELM" ]] || export TODO_SUITE_HELM
  fi

  log::step "validating release $release in namespace $namespace (context $(kube::target_context))"
  local started=$SECONDS status=0
  (cd "$repo_root" && npx --no-install tsx suites/cli.ts "${args[@]}" "${suite_args[@]}") || status=$?
  local report="$report_dir/latest"
  if [[ -e "$report" ]]; then
    log::info "report: $(cd "$report" && pwd -P) (junit: $report/junit.xml)"
  fi
  if ((status == 0)); then
    log::info "validation passed in $(kube::duration $((SECONDS - started)))"
  elif ((status == 1)); then
    log::error "validation failed (exit 1) after $(kube::duration $((SECONDS - started))); see $report/summary.md"
  fi
  # Any other exit: the suite could not validate, and its one line above said why.
  return "$status"
}

main "$@"
