#!/usr/bin/env bash
# Cluster access shared by the deployment scripts: finding kubectl and helm, the target
# kubeconfig and context, the early checks (context known, API reachable, namespace
# present) that each fail with one line and a distinct exit code, and the rule that decides
# when a change to a cluster needs --yes. Sourced after scripts/lib/log.sh.
#
# Exit codes (the same as the validation suite's where they overlap):
#   2 bad usage   3 tool or kubeconfig missing   4 context unknown, rejected or refused
#   5 cluster unreachable   6 namespace missing   7 Helm release missing
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

  if [[ -n "$kube_kubeconfig" ]]; then
    [[ -r "$kube_kubeconfig" ]] || log::die "kubeconfig $kube_kubeconfig does not exist or cannot be read" 3
  elif [[ -z "${KUBECONFIG:-}" && ! -r "$HOME/.kube/config" && -z "${KUBERNETES_SERVICE_HOST:-}" ]]; then
    log::die "no kubeconfig: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config" 3
  fi

  local contexts
  contexts=$(kube::kubectl_plain config get-contexts -o name 2>/dev/null) || contexts=''
  kube_current_context=$(kube::kubectl_plain config current-context 2>/dev/null) || kube_current_context=''
  if [[ -z "$kube_context" ]]; then
    if [[ -z "$kube_current_context" && -z "${KUBERNETES_SERVICE_HOST:-}" ]]; then
      log::die "the kubeconfig has no current context; pass --context (contexts: $(kube::join_lines "$contexts"))" 4
    fi
  elif ! grep -qxF -- "$kube_context" <<<"$contexts"; then
    log::die "context '$kube_context' is not in the kubeconfig (contexts: $(kube::join_lines "$contexts"))" 4
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

# kube::check_reachable: the API server answers with these credentials (exit 4 or 5).
kube::check_reachable() {
  local output
  output=$(kube::kubectl get --raw /version 2>&1 >/dev/null) && return
  local first_line=${output%%$'\n'*}
  if grep -qiE 'unauthorized|forbidden|certificate|x509|credentials' <<<"$output"; then
    log::die "the API server of context '$(kube::target_context)' (${kube_server:-unknown}) rejected the credentials: ${first_line}" 4
  fi
  log::die "cannot reach the Kubernetes API of context '$(kube::target_context)' at ${kube_server:-unknown}: ${first_line:-no answer}" 5
}

# kube::namespace_exists NS
kube::namespace_exists() {
  kube::kubectl get namespace "$1" -o name >/dev/null 2>&1
}

# kube::check_namespace NS: exit 6 when it is missing.
kube::check_namespace() {
  kube::namespace_exists "$1" ||
    log::die "namespace '$1' does not exist in context '$(kube::target_context)' (set --namespace)" 6
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
