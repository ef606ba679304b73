#!/usr/bin/env bash
# Installs or upgrades Dapr's control plane at the pinned version (DAPR_VERSION in
# scripts/sandbox/versions.env) with Dapr's Helm chart, or with the Dapr CLI on request,
# then waits for it (bounded) and verifies it. Running it again is safe: a control plane
# already healthy at that version is left alone (with --values, helm applies them again;
# one that is not healthy is installed again). On the project's sandbox it installs from a
# local copy of the chart with images from the sandbox's registry (--chart,
# --image-registry, --values).
#
# Usage: scripts/install-dapr.sh [--context CTX] [--kubeconfig FILE] [--version VERSION]
#          [--chart DIR] [--image-registry REGISTRY] [--values FILE]... [--method helm|cli]
#          [--dapr-namespace NS] [--ha] [--timeout DURATION] [--dry-run] [--yes] [--help]
#
# Environment:
#   KUBECTL, HELM        kubectl and helm to use (default: on PATH, else the sandbox's)
#   TODO_SANDBOX_HOME    sandbox tool cache, searched for kubectl and helm (default: ~/.cache/todo-sandbox)
#   KUBECONFIG           kubeconfig when --kubeconfig is not given
#   DAPR_VERSION         overrides the pinned version (same as --version)
#   CI, NO_COLOR         plain output
set -o errexit -o nounset -o pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/log.sh
source "$script_dir/lib/log.sh"
# shellcheck source=scripts/lib/kube.sh
source "$script_dir/lib/kube.sh"

pinned_version=$(sed -n 's/^DAPR_VERSION=//p' "$script_dir/sandbox/versions.env")
readonly pinned_version
readonly chart_repo=https://dapr.github.io/helm-charts
readonly release=dapr
# What Dapr 1.16's chart runs; each must be ready.
readonly expected_workloads=(deployment/dapr-operator deployment/dapr-sentry deployment/dapr-sidecar-injector
  statefulset/dapr-placement-server)
# Optional: Dapr's chart renders it with 0 replicas when global.scheduler.enabled is false,
# and the injector then gives sidecars no scheduler address.
readonly scheduler_workload=statefulset/dapr-scheduler-server
readonly expected_crds=(components.dapr.io configurations.dapr.io subscriptions.dapr.io resiliencies.dapr.io httpendpoints.dapr.io)

work_dir=''
# From the command line: --image-registry and each --values file.
image_registry=''
values_files=()

usage() {
  cat <<EOF
Usage: scripts/install-dapr.sh [options]

Installs or upgrades Dapr's control plane at version $pinned_version (pinned in
scripts/sandbox/versions.env), waits until it is ready (bounded) and verifies it: the
control-plane workloads ready and running that version (from --image-registry when given),
the CRDs, and the injector webhook with the CA bundle the injector sets once Sentry has
issued its certificate. A control plane already healthy at that version is left alone
unless --values is given.

  --context CTX          kube context (default: the current one)
  --kubeconfig FILE      kubeconfig (default: \$KUBECONFIG or ~/.kube/config)
  --version VERSION      Dapr version (default: $pinned_version)
  --chart DIR            use Dapr's chart from DIR (charts/dapr of github.com/dapr/dapr at
                         that version, e.g. from 'go mod download -json
                         github.com/dapr/dapr@$pinned_version'); default: chart 'dapr'
                         from $chart_repo
  --image-registry REG   pull Dapr's images from REG (host[:port][/path]) instead of
                         ghcr.io/dapr: the chart's global.registry (tag: the version);
                         for the sandbox, scripts/sandbox/dapr/build-images.sh --push
  --values FILE          values file for Dapr's chart, e.g. scripts/sandbox/dapr/values.yaml;
                         may be repeated; --version, --image-registry and --ha win over it.
                         With values given, helm applies them even when Dapr is healthy
  --method helm|cli      helm (default): Dapr's Helm chart; cli: the Dapr CLI ('dapr init
                         -k' / 'dapr upgrade -k'), which acts on the current context only
  --dapr-namespace NS    control-plane namespace (default: dapr-system)
  --ha                   high-availability mode (3 replicas of each control-plane service)
  --timeout DURATION     bound for the install and for the wait (default: 5m)
  --dry-run              server-side dry run of the chart; changes nothing
  --yes                  needed unless --context names the current context and does not
                         look like production (see docs/deployment-guide.md)
  -h, --help             this text

The project's sandbox gets Dapr's own control plane from the chart and the images built
next to its binaries (scripts/sandbox/prepare-stack.sh runs these):
  scripts/sandbox/dapr/build-images.sh --registry REGISTRY --push
  scripts/install-dapr.sh --kubeconfig .sandbox/kubeconfig --yes \\
    --chart ~/.cache/todo-sandbox/tools/dapr-control-plane-$pinned_version/chart \\
    --image-registry REGISTRY --values scripts/sandbox/dapr/values.yaml
EOF
  kube::exit_codes_help
}

cleanup() {
  [[ -z "$work_dir" ]] || rm -rf "$work_dir"
}

# installed_version NS: the tag of the running dapr-operator image, or nothing.
installed_version() {
  local image
  image=$(kube::kubectl -n "$1" get deployment dapr-operator \
    -o 'jsonpath={.spec.template.spec.containers[0].image}' 2>/dev/null) || return 0
  [[ -n "$image" ]] && echo "${image##*:}"
}

# workloads_of NS: the control-plane workloads NS must run; the scheduler where it is
# enabled.
workloads_of() {
  printf '%s\n' "${expected_workloads[@]}"
  local replicas
  replicas=$(kube::kubectl -n "$1" get "$scheduler_workload" -o 'jsonpath={.spec.replicas}' 2>/dev/null) || return 0
  ((${replicas:-0} == 0)) || echo "$scheduler_workload"
}

# verify NS VERSION [REGISTRY]: every control-plane workload ready at VERSION (and from
# REGISTRY), CRDs, webhook.
verify() {
  local namespace=$1 version=$2 registry=${3:-} problems=() workload ready desired image crd workloads
  mapfile -t workloads < <(workloads_of "$namespace")
  for workload in "${workloads[@]}"; do
    if ! ready=$(kube::kubectl -n "$namespace" get "$workload" -o 'jsonpath={.status.readyReplicas}/{.spec.replicas}' 2>/dev/null); then
      problems+=("$workload missing")
      continue
    fi
    desired=${ready#*/}; ready=${ready%/*}
    [[ "${ready:-0}" == "$desired" && "$desired" != 0 ]] || problems+=("$workload ${ready:-0}/$desired ready")
    image=$(kube::kubectl -n "$namespace" get "$workload" -o 'jsonpath={.spec.template.spec.containers[0].image}')
    [[ "${image##*:}" == "$version" ]] || problems+=("$workload runs $image, not $version")
    [[ -z "$registry" || "$image" == "$registry/"* ]] || problems+=("$workload runs $image, not an image from $registry")
  done
  for crd in "${expected_crds[@]}"; do
    kube::kubectl get crd "$crd" -o name >/dev/null 2>&1 || problems+=("CRD $crd missing")
  done
  # The chart leaves the webhook's caBundle empty; the injector sets it to Sentry's trust
  # anchors once Sentry has issued its certificate. Until then the API server cannot call
  # the injector and, with failurePolicy Ignore, pods start without a sidecar.
  local ca_bundle
  if ! ca_bundle=$(kube::kubectl get mutatingwebhookconfiguration dapr-sidecar-injector \
      -o 'jsonpath={.webhooks[0].clientConfig.caBundle}' 2>/dev/null); then
    problems+=("MutatingWebhookConfiguration dapr-sidecar-injector missing")
  elif [[ -z "$ca_bundle" ]]; then
    problems+=("MutatingWebhookConfiguration dapr-sidecar-injector has no caBundle yet (the injector sets it from Sentry's trust anchors; see: kubectl -n $namespace logs deployment/dapr-sidecar-injector)")
  fi
  if ((${#problems[@]} > 0)); then
    printf '%s\n' "${problems[@]}"
    return 1
  fi
}

# not_ready NS: the pods of NS that are not ready and why, e.g. "dapr-scheduler-server-0
# (CrashLoopBackOff)", comma separated; nothing when all are.
not_ready() {
  local name phase containers listed=()
  while IFS=$'\t' read -r name phase containers; do
    [[ -n "$name" ]] || continue
    [[ "$phase" == Running && "$containers" != *false* ]] && continue
    local reasons
    reasons=$(tr ' ' '\n' <<<"$containers" | sed -n 's/^false,\(.\+\)$/\1/p' | sort -u | paste -sd/ -)
    [[ -n "$reasons" || "$phase" != Running ]] || reasons="not ready"
    listed+=("$name (${reasons:-$phase})")
  done < <(kube::kubectl -n "$1" get pods -o 'jsonpath={range .items[*]}{.metadata.name}{"\t"}{.status.phase}{"\t"}{range .status.containerStatuses[*]}{.ready}{","}{.state.waiting.reason}{" "}{end}{"\n"}{end}' 2>/dev/null)
  local IFS=,
  echo "${listed[*]}"
}

# wait_ready NS TIMEOUT_SECONDS: rollout status of every workload within one budget.
wait_ready() {
  local namespace=$1 budget=$2 deadline workload remaining workloads
  deadline=$((SECONDS + budget))
  mapfile -t workloads < <(workloads_of "$namespace")
  for workload in "${workloads[@]}"; do
    remaining=$((deadline - SECONDS))
    ((remaining > 0)) || log::die "Dapr's control plane was not ready within ${budget} s (waiting for $workload); see: kubectl -n $namespace get pods" 1
    kube::kubectl -n "$namespace" rollout status "$workload" --timeout="${remaining}s" >/dev/null 2>&1 ||
      log::die "$workload in $namespace was not ready within ${budget} s; see: kubectl -n $namespace describe $workload; kubectl -n $namespace get events" 1
  done
  # The injector sets the webhook's CA bundle just after it turns ready.
  until [[ -n "$(kube::kubectl get mutatingwebhookconfiguration dapr-sidecar-injector \
      -o 'jsonpath={.webhooks[0].clientConfig.caBundle}' 2>/dev/null)" ]]; do
    ((SECONDS < deadline)) || return 0
    sleep 1
  done
}

# one_line TEXT: its lines joined with "; ".
one_line() {
  tr '\n' ';' <<<"$1" | sed 's/;$//; s/;/; /g'
}

# seconds_of DURATION: 90s, 5m, 1h -> seconds.
seconds_of() {
  local value=$1
  case "$value" in
    *h) echo $((${value%h} * 3600)) ;;
    *m) echo $((${value%m} * 60)) ;;
    *s) echo "${value%s}" ;;
    *) echo "$value" ;;
  esac
}

# chart_dir VERSION CHART: a local copy of the chart (CRDs are applied from it).
chart_dir() {
  local version=$1 chart=$2
  if [[ -n "$chart" ]]; then
    echo "$chart"
    return
  fi
  work_dir=$(mktemp -d)
  log::run "$kube_helm" pull dapr --repo "$chart_repo" --version "${version#v}" --untar --untardir "$work_dir" >&2 ||
    log::die "cannot download chart dapr ${version#v} from $chart_repo; pass --chart DIR with a local copy" 1
  echo "$work_dir/dapr"
}

install_with_helm() {
  local namespace=$1 version=$2 chart=$3 ha=$4 timeout=$5 dry_run=$6
  local dir
  dir=$(chart_dir "$version" "$chart")
  [[ -f "$dir/Chart.yaml" && -d "$dir/crds" ]] || log::die "$dir is not Dapr's chart (no Chart.yaml and crds/)" 2
  # Flags win over values files: helm applies --set after every -f.
  local values=() file
  for file in ${values_files[@]+"${values_files[@]}"}; do values+=(-f "$file"); done
  values+=(--set "global.tag=${version#v}")
  [[ -z "$image_registry" ]] || values+=(--set "global.registry=$image_registry")
  [[ -z "$ha" ]] || values+=(--set global.ha.enabled=true)
  if [[ -n "$dry_run" ]]; then
    local objects
    objects=$(kube::helm upgrade --install "$release" "$dir" -n "$namespace" "${values[@]}" \
      --dry-run=server --hide-secret 2>&1) || { echo "$objects" >&2; log::die "the server-side dry run of Dapr's chart failed" 1; }
    log::info "dry run: Dapr $version would be installed in $namespace ($(grep -c '^kind:' <<<"$objects") objects); nothing changed"
    return
  fi
  # Helm installs a chart's CRDs only on first install; apply them every time so an
  # upgrade gets the new versions too.
  kube::run_quiet "${kube_kubectl_cmd[@]}" apply --server-side --force-conflicts -f "$dir/crds"
  if ! kube::run_quiet "${kube_helm_cmd[@]}" upgrade --install "$release" "$dir" -n "$namespace" --create-namespace \
      "${values[@]}" --wait --timeout "$timeout"; then
    local pods
    pods=$(not_ready "$namespace")
    log::die "helm did not get Dapr's chart ready within $timeout${pods:+; not ready: ${pods//,/, }}; see: kubectl -n $namespace get pods,pvc; kubectl -n $namespace logs POD" 1
  fi
}

install_with_cli() {
  local namespace=$1 version=$2 ha=$3 timeout=$4 dry_run=$5 installed=$6
  kube::require_command dapr "install it from https://docs.dapr.io/getting-started/install-dapr-cli/ or use --method helm"
  if [[ -n "$kube_context" && "$kube_context" != "$kube_current_context" ]]; then
    log::die "the Dapr CLI acts on the current context ('$kube_current_context'), not '$kube_context': switch with kubectl config use-context, or use --method helm" 2
  fi
  local command=(dapr init -k --runtime-version "${version#v}" -n "$namespace" --wait --timeout "$(seconds_of "$timeout")")
  [[ -z "$installed" ]] || command=(dapr upgrade -k --runtime-version "${version#v}")
  [[ -z "$ha" ]] || command+=(--enable-ha)
  # Both commands pass --set on to Dapr's chart.
  [[ -z "$image_registry" ]] || command+=(--set "global.registry=$image_registry")
  if [[ -n "$dry_run" ]]; then
    log::info "dry run: would run: ${command[*]}"
    return
  fi
  KUBECONFIG=${kube_kubeconfig:-${KUBECONFIG:-}} log::run "${command[@]}"
}

main() {
  if kube::help_requested "$@"; then usage; return; fi
  local context='' kubeconfig='' version=${DAPR_VERSION:-$pinned_version} chart='' method=helm
  local namespace=dapr-system ha='' timeout=5m dry_run='' yes=''
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --context|--kube-context|--kubeconfig|--version|--chart|--image-registry|--values|--method|--dapr-namespace|--timeout)
        [[ $# -ge 2 && -n "$2" ]] || log::die "$1 needs a value (see --help)" 2 ;;&
      --context|--kube-context) context=$2; shift 2 ;;
      --kubeconfig) kubeconfig=$2; shift 2 ;;
      --version) version=$2; shift 2 ;;
      --chart) chart=$2; shift 2 ;;
      --image-registry) image_registry=$2; shift 2 ;;
      --values) values_files+=("$2"); shift 2 ;;
      --method) method=$2; shift 2 ;;
      --dapr-namespace) namespace=$2; shift 2 ;;
      --timeout) timeout=$2; shift 2 ;;
      --ha) ha=1; shift ;;
      --dry-run) dry_run=1; shift ;;
      --yes) yes=1; shift ;;
      -h|--help) usage; return ;;
      *) log::die "unknown argument '$1' (see --help)" 2 ;;
    esac
  done
  [[ "$version" =~ ^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$ ]] || log::die "--version '$version' is not a version like $pinned_version" 2
  version=v${version#v}
  [[ "$method" == helm || "$method" == cli ]] || log::die "--method must be helm or cli, not '$method'" 2
  [[ "$timeout" =~ ^[0-9]+[smh]$ ]] || log::die "--timeout must look like 90s, 5m or 1h, not '$timeout'" 2
  [[ -z "$chart" || -d "$chart" ]] || log::die "--chart $chart is not a directory" 2
  [[ -z "$image_registry" ]] || [[ "$image_registry" =~ ^[A-Za-z0-9.-]+(:[0-9]+)?(/[a-z0-9._/-]+)?$ && "$image_registry" != */ ]] ||
    log::die "--image-registry '$image_registry' is not host[:port][/path] (no scheme, no trailing /, no tag)" 2
  local file
  for file in ${values_files[@]+"${values_files[@]}"}; do
    [[ -f "$file" && -r "$file" ]] || log::die "--values $file is not a readable file" 2
  done
  # The Dapr CLI takes single --set values, not files.
  [[ "$method" == helm || ${#values_files[@]} -eq 0 ]] || log::die "--values works with --method helm only" 2

  trap cleanup EXIT
  local need=need-helm
  [[ "$method" == helm ]] || need=''
  kube::setup "$kubeconfig" "$context" "$need"
  kube::check_reachable

  local installed action unhealthy=''
  installed=$(installed_version "$namespace")
  if [[ "$installed" == "${version#v}" || "$installed" == "$version" ]]; then
    if unhealthy=$(verify "$namespace" "${version#v}" "$image_registry"); then
      # Values files may change anything, so with them helm always runs (an upgrade with
      # the same values changes nothing).
      if [[ ${#values_files[@]} -eq 0 ]]; then
        log::info "Dapr $version is already installed in $namespace and healthy; nothing to do"
        return
      fi
      action="applying the values to Dapr $version in $namespace"
    else
      action="installing Dapr $version in $namespace again (not healthy: $(one_line "$unhealthy"))"
    fi
  elif [[ -n "$installed" ]]; then
    action="upgrading Dapr $installed to $version in $namespace"
  else
    action="installing Dapr $version in $namespace"
  fi
  [[ -n "$dry_run" ]] || kube::confirm_target "install Dapr $version" "$yes"
  local started=$SECONDS
  log::step "$action (method: $method)"
  if [[ "$method" == helm ]]; then
    install_with_helm "$namespace" "$version" "$chart" "$ha" "$timeout" "$dry_run"
  else
    install_with_cli "$namespace" "$version" "$ha" "$timeout" "$dry_run" "$installed"
  fi
  [[ -z "$dry_run" ]] || return 0

  log::step "waiting for Dapr's control plane (at most $timeout)"
  wait_ready "$namespace" "$(seconds_of "$timeout")"
  if ! unhealthy=$(verify "$namespace" "${version#v}" "$image_registry"); then
    log::die "Dapr's control plane is not as expected: $(one_line "$unhealthy")" 1
  fi
  log::info "Dapr $version ready in $namespace in $(kube::duration $((SECONDS - started))): $(workloads_of "$namespace" | paste -sd' ' -); CRDs, and the injector webhook with its CA bundle"
}

main "$@"
