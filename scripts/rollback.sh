#!/usr/bin/env bash
# Rolls the Todo release back to the previous complete revision, or to a named one: shows
# the history, refuses a release stuck in a pending state, rolls back with a bounded wait,
# shows which images run before and after, validates (unless told not to) and reports the
# time taken.
#
# Usage: scripts/rollback.sh [--context CTX] [--kubeconfig FILE] [--namespace NS] [--release NAME]
#          [--revision N] [--timeout DURATION] [--dry-run] [--skip-validation] [--yes] [--help]
#          [-- SUITE_ARGS...]
#
# Environment:
#   KUBECTL, HELM        kubectl and helm to use (default: on PATH, else the sandbox's)
#   TODO_SANDBOX_HOME    sandbox tool cache, searched for kubectl and helm (default: ~/.cache/todo-sandbox)
#   KUBECONFIG           kubeconfig when --kubeconfig is not given
#   CI, NO_COLOR         plain output
set -o errexit -o nounset -o pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/log.sh
source "$script_dir/lib/log.sh"
# shellcheck source=scripts/lib/kube.sh
source "$script_dir/lib/kube.sh"

readonly history_shown=10

usage() {
  cat <<'EOF'
Usage: scripts/rollback.sh [options] [-- SUITE_ARGS...]

Shows the release history, rolls back to the previous complete revision (or --revision N)
with `helm rollback --wait`, shows the images before and after, validates the result with
scripts/validate-deployment.sh and reports the time taken.

"Previous complete revision": the newest revision before the current one that was
deployed successfully (status superseded or deployed) and is not an intermediate step of
scripts/deploy-to-cloud.sh (description starting with "partial:").

  --context CTX        kube context (default: the current one)
  --kubeconfig FILE    kubeconfig (default: $KUBECONFIG or ~/.kube/config)
  --namespace NS       namespace (default: the context's, else todo-app)
  --release NAME       Helm release (default: todo-app)
  --revision N         roll back to revision N (default: the previous complete revision)
  --timeout DURATION   bound for the rollback and its wait (default: 5m, the plan's target)
  --dry-run            show what would be done; change nothing
  --skip-validation    do not run the validation suite afterwards
  --yes                needed unless --context names the current context and does not look
                       like production (prod, prd, production, live)
  -h, --help           this text
  -- SUITE_ARGS        passed to the validation suite

A release whose newest revision is pending-install, pending-upgrade or pending-rollback is
refused: another Helm operation is running or was interrupted (see "Release stuck in
pending" in docs/deployment-guide.md).

EOF
  kube::exit_codes_help
}

# history_rows NS RELEASE: "REVISION<TAB>STATUS<TAB>DESCRIPTION" lines, oldest first.
history_rows() {
  # No history (no release, or none readable) is an empty answer; the caller says which.
  { kube::helm history "$2" -n "$1" --max 256 2>/dev/null || true; } |
    awk -F'\t' 'NR > 1 { for (i = 1; i <= NF; i++) gsub(/^ +| +$/, "", $i); print $1 "\t" $3 "\t" $6 }'
}

# images NS RELEASE: "kind/name=image,image" per workload of the release.
images() {
  kube::kubectl -n "$1" get deployments,statefulsets -l "app.kubernetes.io/instance=$2" \
    -o 'jsonpath={range .items[*]}{.kind}/{.metadata.name}={range .spec.template.spec.containers[*]}{.image} {end}{"\n"}{end}'
}

main() {
  if kube::help_requested "$@"; then usage; return; fi
  local context='' kubeconfig='' namespace='' release=todo-app revision='' timeout=5m
  local dry_run='' skip_validation='' yes='' suite_args=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --context|--kube-context|--kubeconfig|--namespace|--release|--revision|--timeout)
        [[ $# -ge 2 && -n "$2" ]] || log::die "$1 needs a value (see --help)" 2 ;;&
      --context|--kube-context) context=$2; shift 2 ;;
      --kubeconfig) kubeconfig=$2; shift 2 ;;
      --namespace) namespace=$2; shift 2 ;;
      --release) release=$2; shift 2 ;;
      --revision) revision=$2; shift 2 ;;
      --timeout) timeout=$2; shift 2 ;;
      --dry-run) dry_run=1; shift ;;
      --skip-validation) skip_validation=1; shift ;;
      --yes) yes=1; shift ;;
      --) shift; suite_args=("$@"); break ;;
      -h|--help) usage; return ;;
      *) log::die "unknown argument '$1' (see --help)" 2 ;;
    esac
  done
  [[ -z "$revision" || "$revision" =~ ^[1-9][0-9]*$ ]] || log::die "--revision must be a revision number, not '$revision'" 2
  [[ "$timeout" =~ ^[0-9]+[smh]$ ]] || log::die "--timeout must look like 90s, 5m or 1h, not '$timeout'" 2

  kube::setup "$kubeconfig" "$context" need-helm
  namespace=$(kube::resolve_namespace "$namespace")
  kube::check_reachable
  kube::check_namespace "$namespace"
  local rows
  rows=$(history_rows "$namespace" "$release")
  [[ -n "$rows" ]] || log::die "Helm release \"$release\" not found in namespace \"$namespace\" (no Helm storage Secret or ConfigMap labelled name=$release; set --release)" 7

  log::step "history of release $release in namespace $namespace (last $history_shown)"
  kube::helm history "$release" -n "$namespace" --max "$history_shown"

  local current current_status
  current=$(tail -n 1 <<<"$rows" | cut -f1)
  current_status=$(tail -n 1 <<<"$rows" | cut -f2)
  if [[ "$current_status" == pending-* ]]; then
    log::die "release $release is $current_status at revision $current: another Helm operation is running or was interrupted. Wait for it to finish; if none is running (no deploy job, no helm process), see 'Release stuck in pending' in docs/deployment-guide.md" 1
  fi

  local target=$revision
  if [[ -n "$target" ]]; then
    awk -F'\t' -v r="$target" '$1 == r { found = 1 } END { exit !found }' <<<"$rows" ||
      log::die "revision $target is not in the history of $release (revisions: $(cut -f1 <<<"$rows" | tr '\n' ' ' | sed 's/ $//'))" 2
    [[ "$target" != "$current" ]] || log::die "revision $target is the current revision; nothing to roll back to" 2
  else
    target=$(awk -F'\t' -v c="$current" '$1 < c && ($2 == "superseded" || $2 == "deployed") && $3 !~ /^partial:/ { t = $1 } END { print t }' <<<"$rows")
    [[ -n "$target" ]] || log::die "release $release has no complete revision before $current to roll back to; name one with --revision" 2
  fi
  local description
  description=$(awk -F'\t' -v r="$target" '$1 == r { print $3 }' <<<"$rows")

  if [[ -n "$dry_run" ]]; then
    log::info "dry run: would roll back release $release from revision $current to revision $target ($description); nothing changed"
    return
  fi
  kube::confirm_target "roll back release $release in namespace $namespace" "$yes"

  local before after
  before=$(images "$namespace" "$release")
  log::step "rolling back $release from revision $current to revision $target ($description)"
  local started=$SECONDS
  if ! kube::run_quiet "${kube_helm_cmd[@]}" rollback "$release" "$target" -n "$namespace" --wait --timeout "$timeout"; then
    log::die "helm rollback failed after $(kube::duration $((SECONDS - started))); see: helm history $release -n $namespace; kubectl -n $namespace get pods" 1
  fi
  local took=$((SECONDS - started))
  local now
  now=$(history_rows "$namespace" "$release" | tail -n 1)
  after=$(images "$namespace" "$release")
  if [[ "$before" != "$after" ]]; then
    log::info "images changed:"
    diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | sed -n 's/^< /  before: /p; s/^> /  after:  /p' || true
  else
    log::info "images unchanged (the revisions differ in configuration only)"
  fi
  log::info "rolled back release $release to revision $target in $(kube::duration "$took"): now revision $(cut -f1 <<<"$now"), $(cut -f2 <<<"$now")"

  if [[ -n "$skip_validation" ]]; then
    log::info "validation skipped (--skip-validation)"
    return
  fi
  local args=(--namespace "$namespace" --release "$release")
  [[ -z "$kube_kubeconfig" ]] || args+=(--kubeconfig "$kube_kubeconfig")
  [[ -z "$kube_context" ]] || args+=(--context "$kube_context")
  local status=0
  KUBECTL="$kube_kubectl" HELM="$kube_helm" bash "$script_dir/validate-deployment.sh" "${args[@]}" -- "${suite_args[@]}" || status=$?
  log::info "rollback and validation took $(kube::duration $((SECONDS - started))) in total"
  return "$status"
}

main "$@"
