#!/usr/bin/env bash
# Deploys the Todo stack to a Kubernetes cluster in the plan's order, with a checkpoint
# after each step: namespace and secrets, Dapr, Kafka and topics, Dapr components, the three
# backend services, the frontend; then runs the validation suite. Every step is
# `helm upgrade --install --wait` of the ONE umbrella release (helm/todo-app), with the
# subcharts not reached yet switched off, so history and rollback stay one release's.
# Running it again upgrades in place: parts already in the release are never switched off,
# and steps with nothing new to enable make no Helm revision.
#
# Usage: scripts/deploy-to-cloud.sh [--env dev|staging|prod] [--context CTX] [--kubeconfig FILE]
#          [--namespace NS] [--release NAME] [--values FILE]... [--set KEY=VALUE]...
#          [--env-file FILE] [--timeout DURATION] [--dapr-chart DIR] [--dry-run] [--skip-dapr]
#          [--skip-validation] [--yes] [--help] [-- SUITE_ARGS...]
#
# Environment:
#   DATABASE_URL, BETTER_AUTH_SECRET, JWT_SECRET, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD
#                        the Secret's values (see scripts/create-secrets.sh); when none is set
#                        and no --env-file is given, an existing Secret is kept
#   KUBECTL, HELM        kubectl and helm to use (default: on PATH, else the sandbox's)
#   TODO_SANDBOX_HOME    sandbox tool cache, searched for kubectl and helm (default: ~/.cache/todo-sandbox)
#   KUBECONFIG           kubeconfig when --kubeconfig is not given
#   CI, NO_COLOR         plain output
set -o errexit -o nounset -o pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
# shellcheck source=scripts/lib/log.sh
source "$script_dir/lib/log.sh"
# shellcheck source=scripts/lib/kube.sh
source "$script_dir/lib/kube.sh"

readonly chart_dir="$repo_root/helm/todo-app"
# The umbrella's subcharts in the order the plan brings them up.
readonly components=(kafka dapr-components backend recurring-task-service notification-service frontend)
readonly backend_services=(backend recurring-task-service notification-service)
readonly secret_keys=(DATABASE_URL BETTER_AUTH_SECRET JWT_SECRET)
readonly total_steps=7

# Set by main, read by the steps.
namespace=''
release=todo-app
environment=dev
timeout=10m
dry_run=''
yes=''
dapr_chart=''
env_file=''
helm_values=()
present=()
last_disabled='unset'
step_names=()
step_seconds=()
step_results=()

usage() {
  cat <<'EOF'
Usage: scripts/deploy-to-cloud.sh [options] [-- SUITE_ARGS...]

Deploys the Todo stack as ONE Helm release of helm/todo-app, step by step in the plan's
order, with a checkpoint after each step, then validates it:
  1 namespace and secrets   (scripts/create-secrets.sh; an existing Secret is kept when no
                             value is given)
  2 Dapr                    (scripts/install-dapr.sh, unless --skip-dapr)
  3 Kafka and topics        (helm upgrade --install --wait, later subcharts switched off)
  4 Dapr components
  5 backend, recurring-task-service, notification-service
  6 frontend                (the whole release)
  7 validation              (scripts/validate-deployment.sh, unless --skip-validation)
Each step's duration and the total are printed. A second run upgrades in place: parts
already deployed are never switched off, and a step with nothing new makes no revision.
A step does not wait out --timeout on a pod that cannot start: one that stays so for 45 s
(image not pulled, crash loop, failed init container, OOM kill, Secret key missing), or
unschedulable for 3 min, stops it, naming the pod and why (the release is marked failed).

  --env dev|staging|prod   values-<env>.yaml on top of values.yaml (default: dev)
  --context CTX            kube context (default: the current one; see "Target" below)
  --kubeconfig FILE        kubeconfig (default: $KUBECONFIG or ~/.kube/config)
  --namespace NS           namespace (default: the context's, else todo-app; created when
                           missing)
  --release NAME           Helm release (default: todo-app)
  --values FILE            extra values file after the environment's (repeatable), e.g.
                           helm/todo-app/examples/gke.yaml
  --set KEY=VALUE          extra value (repeatable), e.g. --set backend.image.tag=1.2.0;
                           never a secret (it would be stored in the release and in history)
  --env-file FILE          secret values file for create-secrets.sh (KEY=value lines)
  --timeout DURATION       bound for each Helm step and each wait (default: 10m)
  --dapr-chart DIR         local copy of Dapr's chart for install-dapr.sh --chart
  --dry-run                server-side dry run of every step; changes nothing
  --skip-dapr              do not install Dapr (already installed, or managed by others)
  --skip-validation        do not run the validation suite at the end
  --yes                    confirm the target (see below)
  -h, --help               this text
  -- SUITE_ARGS            passed to the validation suite (see validate-deployment.sh)

Target: without --yes the deploy goes ahead only when --context is given, names the
kubeconfig's current context, the name does not look like production (prod, prd,
production, live) and --env is not prod. Anything else stops with the reason (exit 4)
before a change; check the target and add --yes. --dry-run needs no --yes.

Environment: DATABASE_URL, BETTER_AUTH_SECRET (and optionally JWT_SECRET,
KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD) for step 1, as scripts/create-secrets.sh reads
them; KUBECTL and HELM to pick the binaries.

EOF
  kube::exit_codes_help
}

# --- helpers -------------------------------------------------------------------------

contains() {
  local needle=$1; shift
  local item
  for item in "$@"; do [[ "$item" == "$needle" ]] && return 0; done
  return 1
}

# run_step NUMBER NAME FUNCTION: run a step and its checkpoint, record the duration.
run_step() {
  local number=$1 name=$2 function=$3 started=$SECONDS status=0
  log::step "step $number/$total_steps: $name"
  "$function" || status=$?
  step_names+=("$number $name")
  step_seconds+=($((SECONDS - started)))
  if ((status == 0)); then
    step_results+=(ok)
    log::info "checkpoint $number passed ($(kube::duration $((SECONDS - started))))"
  else
    step_results+=("failed ($status)")
    diagnose
    summary
    log::die "step $number ($name) failed; fix the cause above and run the script again (it resumes safely)" 1
  fi
}

skip_step() {
  local number=$1 name=$2 why=$3
  log::step "step $number/$total_steps: $name: skipped ($why)"
  step_names+=("$number $name")
  step_seconds+=(0)
  step_results+=("skipped: $why")
}

# diagnose: what a failed step leaves behind, for the log (no Secret data).
diagnose() {
  [[ -z "$dry_run" ]] || return 0
  kube::namespace_exists "$namespace" || return 0
  log::info "pods in $namespace:"
  kube::kubectl -n "$namespace" get pods -o wide 2>&1 | sed 's/^/  /' || true
  log::info "latest warning events in $namespace:"
  kube::kubectl -n "$namespace" get events --field-selector type=Warning --sort-by=.lastTimestamp 2>&1 |
    tail -n 10 | sed 's/^/  /' || true
}

summary() {
  local index total=0
  echo
  printf '  %-44s %8s  %s\n' step duration result
  for index in "${!step_names[@]}"; do
    printf '  %-44s %8s  %s\n' "${step_names[index]}" "$(kube::duration "${step_seconds[index]}")" "${step_results[index]}"
    total=$((total + step_seconds[index]))
  done
  printf '  %-44s %8s\n' total "$(kube::duration "$total")"
}

# release_status: "REVISION STATUS" of the newest revision, from Helm's storage Secrets.
release_status() {
  kube::kubectl -n "$namespace" get secrets -l "owner=helm,name=$release" \
    -o 'jsonpath={range .items[*]}{.metadata.labels.version} {.metadata.labels.status}{"\n"}{end}' 2>/dev/null |
    sort -n | tail -n 1
}

# components_in_release: the subcharts the current release manifest holds.
components_in_release() {
  kube::helm get manifest "$release" -n "$namespace" 2>/dev/null |
    sed -n 's|^# Source: todo-app/charts/\([^/]*\)/.*|\1|p' | sort -u
}

# helm_step DESCRIPTION ENABLED...: upgrade the release with every component after the
# ones ENABLED switched off, unless it is already in the release. No Helm call when the set
# switched off is the same as the previous step's (nothing new to enable).
helm_step() {
  local label=$1; shift
  local disabled=() component
  for component in "${components[@]}"; do
    contains "$component" "$@" && continue
    contains "$component" "${present[@]}" && continue
    disabled+=("$component")
  done
  local key="${disabled[*]}"
  if [[ "$key" == "$last_disabled" ]]; then
    log::info "nothing new to enable: already part of the release"
    return
  fi
  last_disabled=$key
  local sets=() description
  for component in "${disabled[@]}"; do sets+=(--set "$component.enabled=false"); done
  if ((${#disabled[@]} > 0)); then
    description="partial: deploy-to-cloud $label; not yet enabled: ${disabled[*]}"
  else
    description="deploy-to-cloud complete (env $environment)"
  fi
  upgrade_failing_fast upgrade --install "$release" "$chart_dir" --namespace "$namespace" \
    "${helm_values[@]}" "${sets[@]}" --wait --timeout "$timeout" --description "$description"
}

# How long a pod may stay unable to start (an image that cannot be pulled, a crash loop, a
# failed init container, an OOM kill, a Secret key missing) before the deploy gives up on
# it: a registry that hiccups once, or a service that crashes while Kafka starts, recovers
# well within this. An unschedulable pod gets longer: an autoscaler may be adding a node.
readonly stuck_seconds=45
readonly unschedulable_seconds=180

# upgrade_failing_fast HELM_ARGS...: helm ... --wait, stopped early when a pod of the release
# cannot start: helm is interrupted (it marks the release failed) instead of waiting out
# --timeout on a pod that never will. The pods are judged by the suite's own classifier
# (scripts/lib/stuck-pods.ts), watching beside helm.
upgrade_failing_fast() {
  printf '%s + %s\n' "$(_log_stamp)" "${kube_helm_cmd[*]} $*"
  "${kube_helm_cmd[@]}" "$@" >/dev/null &
  local helm_pid=$! stuck_file watch_pid
  stuck_file=$(mktemp)
  (cd "$repo_root" && exec node --import tsx scripts/lib/stuck-pods.ts --after "$stuck_seconds" \
    --unschedulable-after "$unschedulable_seconds" -- "${kube_kubectl_cmd[@]}" --request-timeout="$kube_request_timeout" \
    -n "$namespace" get pods -l "app.kubernetes.io/instance=$release" -o json) >"$stuck_file" 2>/dev/null &
  watch_pid=$!
  local watching=1
  while kill -0 "$helm_pid" 2>/dev/null; do
    sleep 2
    if [[ -n "$watching" && ! -s "$stuck_file" ]] && ! kill -0 "$watch_pid" 2>/dev/null; then
      watching=''
      log::warn "the watch on the release's pods stopped; helm waits up to --timeout $timeout"
    fi
    if [[ -s "$stuck_file" ]] && ! kill -0 "$watch_pid" 2>/dev/null; then
      kill -TERM "$helm_pid" 2>/dev/null || true
      wait "$helm_pid" 2>/dev/null || true
      local line first=''
      log::error "stopped waiting: pods that cannot start (the release is marked failed):"
      while IFS= read -r line; do
        log::error "  $line"
        [[ -n "$first" ]] || first=$(sed -n 's/^pod \([^ ]*\).*/\1/p' <<<"$line")
      done <"$stuck_file"
      rm -f "$stuck_file"
      log::error "see: kubectl -n $namespace describe pod ${first:-<pod>}; fix the cause, then deploy again or run scripts/rollback.sh"
      return 1
    fi
  done
  kill -TERM "$watch_pid" 2>/dev/null || true
  wait "$watch_pid" 2>/dev/null || true
  rm -f "$stuck_file"
  wait "$helm_pid"
}

# workloads_of NAME: workloads of one subchart in the release ("kind/name" lines).
workloads_of() {
  kube::kubectl -n "$namespace" get deployments,statefulsets \
    -l "app.kubernetes.io/instance=$release,app.kubernetes.io/name=$1" -o name
}

# check_ready NAME: every workload of subchart NAME has all its replicas ready.
check_ready() {
  local workload ready desired found=''
  while read -r workload; do
    [[ -n "$workload" ]] || continue
    found=1
    ready=$(kube::kubectl -n "$namespace" get "$workload" -o 'jsonpath={.status.readyReplicas}/{.spec.replicas}')
    desired=${ready#*/}; ready=${ready%/*}
    if [[ "${ready:-0}" != "$desired" ]]; then
      log::error "$workload: ${ready:-0}/$desired ready; see: kubectl -n $namespace describe $workload"
      return 1
    fi
    log::info "  $workload: $desired/$desired ready"
  done < <(workloads_of "$1")
  [[ -n "$found" ]] || log::info "  $1: not enabled in the values; nothing to check"
}

# --- steps ---------------------------------------------------------------------------

step_secrets() {
  local have_values=''
  [[ -z "${DATABASE_URL:-}" && -z "${BETTER_AUTH_SECRET:-}" && -z "$env_file" ]] || have_values=1
  local args=(--namespace "$namespace")
  [[ -z "$kube_kubeconfig" ]] || args+=(--kubeconfig "$kube_kubeconfig")
  [[ -z "$kube_context" ]] || args+=(--context "$kube_context")
  [[ -z "$env_file" ]] || args+=(--env-file "$env_file")
  [[ -z "$dry_run" ]] || args+=(--dry-run)
  if [[ -n "$have_values" ]]; then
    KUBECTL="$kube_kubectl" bash "$script_dir/create-secrets.sh" "${args[@]}" || return 1
  elif ! kube::kubectl -n "$namespace" get secret app-secrets -o name >/dev/null 2>&1; then
    log::error "Secret app-secrets does not exist in namespace $namespace: export DATABASE_URL and BETTER_AUTH_SECRET (or pass --env-file) so that step 1 creates it"
    return 2
  else
    log::info "Secret app-secrets exists; keeping it (set DATABASE_URL and BETTER_AUTH_SECRET or --env-file to update it)"
  fi
  if [[ -n "$dry_run" ]] && ! kube::namespace_exists "$namespace"; then
    log::info "dry run: namespace $namespace and its Secret would be created"
    return
  fi
  # Checkpoint: the keys the stack reads are there (names only, never values).
  local keys key missing=()
  # shellcheck disable=SC2016  # a Go template for kubectl, not a shell expansion
  keys=$(kube::kubectl -n "$namespace" get secret app-secrets -o 'go-template={{range $k, $v := .data}}{{$k}} {{end}}')
  for key in "${secret_keys[@]}"; do
    [[ " $keys " == *" $key "* ]] || missing+=("$key")
  done
  if ((${#missing[@]} > 0)); then
    log::error "Secret app-secrets lacks ${missing[*]} (has: ${keys% }); recreate it with scripts/create-secrets.sh"
    return 1
  fi
  log::info "  namespace $namespace; Secret app-secrets with keys ${keys% }"
}

step_dapr() {
  local args=(--yes)
  [[ -z "$kube_kubeconfig" ]] || args+=(--kubeconfig "$kube_kubeconfig")
  [[ -z "$kube_context" ]] || args+=(--context "$kube_context")
  [[ -z "$dapr_chart" ]] || args+=(--chart "$dapr_chart")
  [[ -z "$dry_run" ]] || args+=(--dry-run)
  KUBECTL="$kube_kubectl" HELM="$kube_helm" bash "$script_dir/install-dapr.sh" "${args[@]}" || return 1
  if [[ -n "$dry_run" ]] && ! dapr_crds_present; then
    log::info "dry run: Dapr's CRDs are not installed yet; they come with Dapr"
    return
  fi
  # Checkpoint: what the stack needs from Dapr: its CRDs and a sidecar injector.
  local crd
  for crd in components.dapr.io subscriptions.dapr.io; do
    kube::kubectl get crd "$crd" -o name >/dev/null 2>&1 || { log::error "Dapr CRD $crd is missing"; return 1; }
  done
  kube::kubectl get mutatingwebhookconfiguration dapr-sidecar-injector -o name >/dev/null 2>&1 ||
    { log::error "Dapr's sidecar injector webhook is missing: pods would get no daprd"; return 1; }
  log::info "  Dapr CRDs and the sidecar injector webhook are present"
}

step_kafka() {
  helm_step "step 3/$total_steps (kafka and topics)" kafka || return 1
  check_ready kafka || return 1
  if [[ -n "$(workloads_of kafka)" ]]; then
    # The topics Job is a post-install/post-upgrade hook: helm returns only after it succeeded.
    log::info "  topics task-events, reminders, task-updates: created by the kafka-topics hook Job"
  fi
}

step_components() {
  helm_step "step 4/$total_steps (dapr components)" kafka dapr-components || return 1
  local found
  found=$(kube::kubectl -n "$namespace" get components.dapr.io -l "app.kubernetes.io/instance=$release" \
    -o 'jsonpath={.items[*].metadata.name}')
  local name
  for name in kafka-pubsub statestore; do
    [[ " $found " == *" $name "* ]] || { log::error "Dapr Component $name is missing (found: ${found:-none})"; return 1; }
  done
  log::info "  Dapr Components: $found"
}

step_services() {
  helm_step "step 5/$total_steps (backend services)" kafka dapr-components "${backend_services[@]}" || return 1
  local service containers
  for service in "${backend_services[@]}"; do
    check_ready "$service" || return 1
    [[ -n "$(workloads_of "$service")" ]] || continue
    containers=$(kube::kubectl -n "$namespace" get pods -l "app.kubernetes.io/instance=$release,app.kubernetes.io/name=$service" \
      -o 'jsonpath={range .items[*]}{.metadata.name}:{range .spec.containers[*]}{.name},{end} {end}')
    local entry
    for entry in $containers; do
      if [[ "$entry" != *:*daprd,* ]]; then
        log::error "$service: pod ${entry%%:*} has no daprd sidecar (containers: ${entry#*:}); is Dapr's injector running?"
        return 1
      fi
    done
  done
  log::info "  daprd injected in every pod of ${backend_services[*]}"
}

step_frontend() {
  helm_step "step 6/$total_steps (frontend)" "${components[@]}" || return 1
  check_ready frontend || return 1
  local type address
  type=$(kube::kubectl -n "$namespace" get service frontend -o 'jsonpath={.spec.type}' 2>/dev/null) || return 0
  case "$type" in
    LoadBalancer)
      address=$(kube::kubectl -n "$namespace" get service frontend -o 'jsonpath={.status.loadBalancer.ingress[0].ip}{.status.loadBalancer.ingress[0].hostname}')
      if [[ -n "$address" ]]; then
        log::info "  frontend: http://$address"
      else
        log::warn "the frontend LoadBalancer has no address yet (see 'Pending LoadBalancer' in docs/deployment-guide.md)"
      fi ;;
    NodePort)
      log::info "  frontend: NodePort $(kube::kubectl -n "$namespace" get service frontend -o 'jsonpath={.spec.ports[0].nodePort}') on the nodes (minikube: minikube service frontend -n $namespace --url)" ;;
    *) log::info "  frontend: Service type $type" ;;
  esac
}

dapr_crds_present() {
  kube::kubectl get crd components.dapr.io -o name >/dev/null 2>&1
}

# The whole release in one server-side dry run (the intermediate states are subsets of it).
dry_run_release() {
  local output without=()
  if ! dapr_crds_present; then
    # The API server cannot check a Component before Dapr's CRDs exist.
    log::info "dry run: the Dapr Components are left out (Dapr's CRDs are not installed yet)"
    without=(--set dapr-components.enabled=false)
  fi
  if ! output=$(kube::helm upgrade --install "$release" "$chart_dir" --namespace "$namespace" "${helm_values[@]}" \
    "${without[@]}" --dry-run=server --hide-secret 2>&1); then
    printf '%s\n' "$output" >&2
    return 1
  fi
  local kinds
  kinds=$(sed -n 's/^kind: //p' <<<"$output" | sort | uniq -c | awk '{printf "%s %s, ", $1, $2}')
  log::info "dry run: helm would apply ${kinds%, }; nothing changed"
}

step_validate() {
  local args=(--namespace "$namespace" --release "$release")
  [[ -z "$kube_kubeconfig" ]] || args+=(--kubeconfig "$kube_kubeconfig")
  [[ -z "$kube_context" ]] || args+=(--context "$kube_context")
  KUBECTL="$kube_kubectl" HELM="$kube_helm" bash "$script_dir/validate-deployment.sh" "${args[@]}" -- "${suite_args[@]}"
}

# --- main ----------------------------------------------------------------------------

suite_args=()

main() {
  if kube::help_requested "$@"; then usage; return; fi
  local context='' kubeconfig='' skip_dapr='' skip_validation='' extra_values=() extra_sets=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --env|--context|--kube-context|--kubeconfig|--namespace|--release|--values|--set|--env-file|--timeout|--dapr-chart)
        [[ $# -ge 2 && -n "$2" ]] || log::die "$1 needs a value (see --help)" 2 ;;&
      --env) environment=$2; shift 2 ;;
      --context|--kube-context) context=$2; shift 2 ;;
      --kubeconfig) kubeconfig=$2; shift 2 ;;
      --namespace) namespace=$2; shift 2 ;;
      --release) release=$2; shift 2 ;;
      --values) extra_values+=("$2"); shift 2 ;;
      --set) extra_sets+=("$2"); shift 2 ;;
      --env-file) env_file=$2; shift 2 ;;
      --timeout) timeout=$2; shift 2 ;;
      --dapr-chart) dapr_chart=$2; shift 2 ;;
      --dry-run) dry_run=1; shift ;;
      --skip-dapr) skip_dapr=1; shift ;;
      --skip-validation) skip_validation=1; shift ;;
      --yes) yes=1; shift ;;
      --) shift; suite_args=("$@"); break ;;
      -h|--help) usage; return ;;
      *) log::die "unknown argument '$1' (see --help)" 2 ;;
    esac
  done
  [[ "$environment" =~ ^(dev|staging|prod)$ ]] || log::die "--env must be dev, staging or prod, not '$environment'" 2
  [[ "$timeout" =~ ^[0-9]+[smh]$ ]] || log::die "--timeout must look like 90s, 10m or 1h, not '$timeout'" 2
  [[ -z "$namespace" || ( "$namespace" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ && ${#namespace} -le 63 ) ]] ||
    log::die "--namespace '$namespace' is not a valid namespace name" 2
  [[ "$release" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ && ${#release} -le 53 ]] || log::die "--release '$release' is not a valid Helm release name" 2
  [[ -z "$env_file" || -r "$env_file" ]] || log::die "cannot read --env-file $env_file" 2
  helm_values=(--values "$chart_dir/values-$environment.yaml")
  local file setting
  for file in "${extra_values[@]}"; do
    [[ -r "$file" ]] || log::die "cannot read --values $file" 2
    helm_values+=(--values "$file")
  done
  for setting in "${extra_sets[@]}"; do
    [[ "$setting" == *=* ]] || log::die "--set needs KEY=VALUE, not '$setting'" 2
    helm_values+=(--set "$setting")
  done

  if [[ -z "$dry_run" ]]; then
    # Watching the pods while helm waits, and the validation at the end, run on Node.
    kube::require_command node "install Node.js 20 or later"
    [[ -x "$repo_root/node_modules/.bin/tsx" ]] || log::die "the suite's dependencies are missing; run: npm ci (in $repo_root)" 3
  fi
  kube::setup "$kubeconfig" "$context" need-helm
  namespace=$(kube::resolve_namespace "$namespace")
  kube::check_reachable
  if [[ -z "$dry_run" ]]; then
    kube::confirm_target "deploy release $release (env $environment) into namespace $namespace" "$yes" "$environment"
  else
    log::info "dry run: target context '$(kube::target_context)' (${kube_server:-unknown server}); nothing will change"
  fi

  local state
  state=$(release_status)
  if [[ "$state" == *" pending-"* ]]; then
    log::die "release $release is ${state#* } at revision ${state%% *}: another Helm operation is running or was interrupted; wait for it, or see 'Release stuck in pending' in docs/deployment-guide.md" 1
  fi
  mapfile -t present < <(components_in_release)
  if [[ -n "$state" ]]; then
    log::info "release $release exists (revision ${state%% *}, ${state#* }); parts deployed: ${present[*]:-none}"
  fi
  log::info "values: values.yaml values-$environment.yaml${extra_values[*]:+ ${extra_values[*]}}"
  (cd "$chart_dir" && "$kube_helm" dependency build . --skip-refresh >/dev/null) ||
    log::die "helm dependency build $chart_dir failed" 1

  local started=$SECONDS
  run_step 1 "namespace and secrets" step_secrets
  if [[ -n "$skip_dapr" ]]; then
    skip_step 2 "Dapr" "--skip-dapr"
  else
    run_step 2 "Dapr" step_dapr
  fi
  if [[ -n "$dry_run" ]]; then
    run_step 3 "Kafka to frontend (one dry run)" dry_run_release
    skip_step 7 "validation" "dry run"
  else
    run_step 3 "Kafka and topics" step_kafka
    run_step 4 "Dapr components" step_components
    run_step 5 "backend services" step_services
    run_step 6 "frontend" step_frontend
    if [[ -n "$skip_validation" ]]; then
      skip_step 7 "validation" "--skip-validation"
    else
      run_step 7 "validation" step_validate
    fi
  fi
  summary
  local outcome=deployed
  [[ -z "$dry_run" ]] || outcome='checked (dry run)'
  log::info "release $release in namespace $namespace $outcome in $(kube::duration $((SECONDS - started)))"
  if [[ -z "$dry_run" ]]; then
    log::info "history: helm history $release -n $namespace; roll back: scripts/rollback.sh --namespace $namespace --release $release"
  fi
}

main "$@"
