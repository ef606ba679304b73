#!/usr/bin/env bash
# Cluster access shared by the deployment scripts: finding kubectl and helm, the target
# kubeconfig and context, the early checks (context known, API reachable, namespace
# present) that each fail with one line and a distinct exit code, and the rule that decides
# when a change to a cluster needs --yes. Sourced after scripts/lib/log.sh.
#
# Exit codes and messages are the validation suite's (suites/lib/errors.ts, kube.ts):
#   2 bad usage   3 tool or kubeconfig missing or empty   4 context unknown, rejected or
#   refused   5 cluster unreachable or not Kubernetes   6 namespace missing   7 Helm release
#   missing   8 forbidden by RBAC
#
# Environment:
#   KUBECTL, HELM        the binaries to use (default: on PATH, else the sandbox's)
#   TODO_SANDBOX_HOME    the sandbox tool cache (default: ~/.cache/todo-sandbox)
#   KUBECONFIG           read by kubectl and helm when --kubeconfig is not given
# shellcheck disable=SC2034  # kube_* variables are read by the scripts that source this file

readonly kube_request_timeout=15s
kube_kubectl=''
kube_helm=''
kube_kubeconfig=''
kube_context=''
kube_current_context=''
kube_server=''
# The commands with the target's flags, for log::run: "${kube_helm_cmd[@]}" upgrade ...
kube_helm_cmd=()
kube_kubectl_cmd=()

# kube::exit_codes_help: the exit codes every entry point shares, for each --help (the
# suite's text is in suites/lib/config.ts).
kube::exit_codes_help() {
  cat <<'EOF'

Exit codes (the same for npm test, the drills, the load test and the scripts):
0 all passed, 1 a check or step failed, 2 bad usage, 3 kubeconfig (or a tool) missing,
unreadable or without a context, 4 context unknown, credentials rejected or target not
confirmed, 5 cluster unreachable or not Kubernetes, 6 namespace missing, 7 Helm release
missing, 8 RBAC forbids a needed call, 9 internal error.
EOF
}

# kube::help_requested ARGS...: true when -h or --help comes before any `--`, so that help
# is printed whatever else is wrong on the line.
kube::help_requested() {
  local arg
  for arg in "$@"; do
    [[ "$arg" != -- ]] || return 1
    [[ "$arg" != -h && "$arg" != --help ]] || return 0
  done
  return 1
}

# kube::find_tool NAME OVERRIDE: print the path of NAME: OVERRIDE when set, else NAME on
# PATH, else the sandbox's copy. Dies (exit 3) naming the tool and how to provide it.
kube::find_tool() {
  local name=$1 override=$2 variable
  variable=$(tr '[:lower:]' '[:upper:]' <<<"$name")
  if [[ -n "$override" ]]; then
    command -v "$override" >/dev/null 2>&1 || log::die "$name not found at $variable=$override" 3
    command -v "$override"
    return
  fi
  if command -v "$name" >/dev/null 2>&1; then
    command -v "$name"
    return
  fi
  local sandbox_copy="${TODO_SANDBOX_HOME:-$HOME/.cache/todo-sandbox}/bin/$name"
  if [[ -x "$sandbox_copy" ]]; then
    echo "$sandbox_copy"
    return
  fi
  log::die "$name not found: install it (https://kubernetes.io/docs/tasks/tools/, https://helm.sh/docs/intro/install/) or set $variable" 3
}

# kube::require_command NAME [HINT]: die (exit 3) when NAME is not on PATH.
kube::require_command() {
  command -v "$1" >/dev/null 2>&1 || log::die "$1 not found on PATH${2:+; $2}" 3
}

# kube::setup KUBECONFIG CONTEXT [need-helm]: find the tools, check that the kubeconfig
# exists and knows the context, and record the target. Empty arguments mean the defaults.
kube::setup() {
  kube_kubeconfig=$1
  kube_context=$2
  kube_kubectl=$(kube::find_tool kubectl "${KUBECTL:-}")
  if [[ "${3:-}" == need-helm ]]; then
    kube_helm=$(kube::find_tool helm "${HELM:-}")
  fi

  local in_cluster=''
  [[ -z "${KUBERNETES_SERVICE_HOST:-}" ]] || in_cluster=1
  if [[ -n "$kube_kubeconfig" ]]; then
    [[ -e "$kube_kubeconfig" ]] || log::die "kubeconfig $kube_kubeconfig does not exist (set --kubeconfig or KUBECONFIG)" 3
    [[ -r "$kube_kubeconfig" ]] || log::die "kubeconfig $kube_kubeconfig cannot be read" 3
  elif [[ -z "${KUBECONFIG:-}" && ! -r "$HOME/.kube/config" && -z "$in_cluster" ]]; then
    log::die "no kubeconfig: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config" 3
  fi

  # The same words and exit codes as the suite's own preflight (suites/lib/kube.ts).
  local contexts shown
  shown=$(kube::kubeconfig_shown)
  contexts=$(kube::kubectl_plain config get-contexts -o name 2>/dev/null) || contexts=''
  kube_current_context=$(kube::kubectl_plain config current-context 2>/dev/null) || kube_current_context=''
  if [[ -z "$contexts" && -z "$in_cluster" ]]; then
    log::die "kubeconfig $shown defines no context (empty or not a kubeconfig); pass one that does with --kubeconfig" 3
  fi
  if [[ -z "$kube_context" ]]; then
    if [[ -z "$kube_current_context" && -z "$in_cluster" ]]; then
      log::die "kubeconfig $shown has no current context; pass --context (contexts: $(kube::join_lines "$contexts"))" 4
    fi
  elif ! grep -qxF -- "$kube_context" <<<"$contexts"; then
    log::die "context \"$kube_context\" is not in kubeconfig $shown (contexts: $(kube::join_lines "$contexts"))" 4
  fi
  kube_kubectl_cmd=("$kube_kubectl")
  [[ -z "$kube_kubeconfig" ]] || kube_kubectl_cmd+=(--kubeconfig "$kube_kubeconfig")
  [[ -z "$kube_context" ]] || kube_kubectl_cmd+=(--context "$kube_context")
  if [[ -n "$kube_helm" ]]; then
    kube_helm_cmd=("$kube_helm")
    [[ -z "$kube_kubeconfig" ]] || kube_helm_cmd+=(--kubeconfig "$kube_kubeconfig")
    [[ -z "$kube_context" ]] || kube_helm_cmd+=(--kube-context "$kube_context")
  fi
  kube_server=$(kube::kubectl config view --minify -o 'jsonpath={.clusters[0].cluster.server}' 2>/dev/null) || kube_server=''
}

# The kubeconfig as messages name it.
kube::kubeconfig_shown() {
  echo "${kube_kubeconfig:-${KUBECONFIG:-$HOME/.kube/config}}"
}

# kube::resolve_namespace GIVEN: GIVEN, else the namespace the target context names, else
# todo-app: the choice of kubectl, helm and the suite. Says so when it is the context's.
kube::resolve_namespace() {
  local given=$1 from_context
  if [[ -n "$given" ]]; then
    echo "$given"
    return
  fi
  from_context=$(kube::kubectl config view --minify -o 'jsonpath={.contexts[0].context.namespace}' 2>/dev/null) || from_context=''
  if [[ -n "$from_context" ]]; then
    log::info "namespace $from_context: the namespace of context $(kube::target_context) (no --namespace given)" >&2
    echo "$from_context"
  else
    echo todo-app
  fi
}

kube::join_lines() {
  local joined
  joined=$(tr '\n' ' ' <<<"$1" | sed 's/ *$//; s/ /, /g')
  echo "${joined:-none}"
}

# The context the commands act on: the one named, else the kubeconfig's current one.
kube::target_context() {
  echo "${kube_context:-${kube_current_context:-in-cluster}}"
}

# kubectl with only the kubeconfig (for `config` subcommands).
kube::kubectl_plain() {
  local args=()
  [[ -z "$kube_kubeconfig" ]] || args+=(--kubeconfig "$kube_kubeconfig")
  "$kube_kubectl" "${args[@]}" "$@"
}

# kube::kubectl ARGS...: kubectl against the target.
kube::kubectl() {
  local args=(--request-timeout="$kube_request_timeout")
  [[ -z "$kube_kubeconfig" ]] || args+=(--kubeconfig "$kube_kubeconfig")
  [[ -z "$kube_context" ]] || args+=(--context "$kube_context")
  "$kube_kubectl" "${args[@]}" "$@"
}

# kube::helm ARGS...: helm against the target.
kube::helm() {
  "${kube_helm_cmd[@]}" "$@"
}

# kube::check_reachable: the API server answers as a Kubernetes API server does, with these
# credentials (exit 4 or 5).
kube::check_reachable() {
  local output
  output=$(kube::kubectl get --raw /version 2>&1 >/dev/null) && return
  local first_line=${output%%$'\n'*} target
  target=$(kube::target_context)
  if grep -qiE 'unauthorized|forbidden|certificate|x509|credentials' <<<"$output"; then
    log::die "the API server at ${kube_server:-unknown} rejected the credentials of context \"$target\": ${first_line}" 4
  fi
  if grep -qiE 'NotFound|could not find the requested resource' <<<"$output"; then
    log::die "${kube_server:-unknown} for context \"$target\" is not a Kubernetes API server (GET /version: ${first_line})" 5
  fi
  log::die "cannot reach the Kubernetes API at ${kube_server:-unknown} for context \"$target\": ${first_line:-no answer}" 5
}

# kube::namespace_exists NS
kube::namespace_exists() {
  kube::kubectl get namespace "$1" -o name >/dev/null 2>&1
}

# kube::check_namespace NS: exit 6 when it is missing, 8 when RBAC hides it.
kube::check_namespace() {
  local output target
  output=$(kube::kubectl get namespace "$1" -o name 2>&1 >/dev/null) && return
  target=$(kube::target_context)
  if grep -qi 'forbidden' <<<"$output"; then
    # A namespaced Role cannot grant get on namespaces: reading pods in it shows it is there.
    kube::kubectl get --raw "/api/v1/namespaces/$1/pods?limit=1" >/dev/null 2>&1 && return
    log::die "RBAC forbids get namespace $1 or list pods in it (403 for context \"$target\"); see suites/README.md for the Role the suite needs" 8
  fi
  if grep -qiE 'NotFound|not found' <<<"$output"; then
    log::die "namespace \"$1\" does not exist in context \"$target\" (set --namespace)" 6
  fi
  log::die "cannot read namespace $1 through the Kubernetes API at ${kube_server:-unknown} for context \"$target\": ${output%%$'\n'*}" 5
}

# kube::looks_like_production NAME: true when a context name says production.
kube::looks_like_production() {
  [[ "${1,,}" =~ (^|[^a-z])(prod|prd|production|live)([^a-z]|$) ]]
}

# kube::confirm_target ACTION YES [ENV]: the rule for changing a cluster. Without --yes, go
# ahead only when --context was given, names the kubeconfig's current context, and neither
# the context name nor the environment says production. Otherwise exit 4 with the reason.
kube::confirm_target() {
  local action=$1 yes=$2 environment=${3:-}
  local target
  target=$(kube::target_context)
  log::info "target: context '$target' (${kube_server:-unknown server})"
  [[ -z "$yes" ]] || return 0
  local reason=''
  if [[ -z "$kube_context" ]]; then
    reason="no --context was given (the current context is '$target')"
  elif [[ "$kube_context" != "$kube_current_context" ]]; then
    reason="context '$kube_context' is not the kubeconfig's current context ('${kube_current_context:-none}')"
  elif kube::looks_like_production "$kube_context"; then
    reason="context '$kube_context' looks like production"
  elif [[ "$environment" == prod ]]; then
    reason="--env prod"
  fi
  [[ -z "$reason" ]] || log::die "refusing to $action: $reason; check the target and re-run with --yes" 4
}

# kube::run_quiet CMD...: echo a command that changes the cluster, run it, keep its
# standard output out of the log (errors still reach stderr).
kube::run_quiet() {
  printf '%s + %s\n' "$(_log_stamp)" "$*"
  "$@" >/dev/null
}

# kube::duration SECONDS: "1m 05s" or "42 s".
kube::duration() {
  local seconds=$1
  if ((seconds >= 60)); then
    printf '%dm %02ds' $((seconds / 60)) $((seconds % 60))
  else
    printf '%d s' "$seconds"
  fi
}
