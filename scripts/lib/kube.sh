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

# How long a call to the API server may go unanswered: the suite's preflight bound.
readonly kube_answer_seconds=15
readonly kube_request_timeout=${kube_answer_seconds}s
kube_kubectl=''
kube_helm=''
kube_kubeconfig=''
# The kubeconfig files the target is read from, as messages name them (a:b).
kube_kubeconfig_shown=''
kube_context=''
kube_current_context=''
kube_server=''
# The namespace the target context names, if any.
kube_context_namespace=''
# The commands with the target's flags, for log::run: "${kube_helm_cmd[@]}" upgrade ...
kube_helm_cmd=()
kube_kubectl_cmd=()

# kube::exit_codes_help: the exit codes every entry point shares, for each --help: word for
# word the suite's (exitCodesHelp in suites/lib/config.ts; tests/scripts/cli.test.ts
# compares them).
kube::exit_codes_help() {
  cat <<'EOF'

Exit codes (the same for npm test, the drills, the load test and the scripts):
0 all passed (skips allowed unless --strict), 1 a check or verdict failed, 2 bad usage,
3 kubeconfig missing, unreadable or without a context, 4 context unknown or credentials
rejected, 5 cluster unreachable or not Kubernetes, 6 namespace missing, 7 Helm release
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
  # As the suite (suites/lib/config.ts, kube.ts): --kubeconfig, else KUBECONFIG, else
  # ~/.kube/config, unless in a pod without one; a list of files is merged as kubectl
  # merges it, and at least one of them must exist.
  local list=${kube_kubeconfig:-${KUBECONFIG:-}}
  if [[ -z "$list" && ( -z "$in_cluster" || -e "$HOME/.kube/config" ) ]]; then
    list="$HOME/.kube/config"
  fi
  kube_kubeconfig_shown=$(kube::normalize_kubeconfig "$list")
  if [[ -n "$list" ]]; then
    local file present=''
    while IFS= read -r -d : file; do
      [[ -n "$file" && -e "$file" ]] || continue
      present=1
      [[ -r "$file" ]] || log::die "kubeconfig $file cannot be read" 3
    done <<<"$kube_kubeconfig_shown:"
    [[ -n "$present" ]] || log::die "kubeconfig $kube_kubeconfig_shown does not exist (set --kubeconfig or KUBECONFIG)" 3
  fi
  if [[ -n "$kube_kubeconfig" ]]; then
    if [[ "$kube_kubeconfig_shown" == *:* ]]; then
      # kubectl's and helm's --kubeconfig take one file; KUBECONFIG takes the list.
      export KUBECONFIG=$kube_kubeconfig_shown
      kube_kubeconfig=''
    else
      kube_kubeconfig=$kube_kubeconfig_shown
    fi
  fi

  # The same words and exit codes as the suite's own preflight (suites/lib/kube.ts). One
  # kubectl call reads the kubeconfig: a kubectl that first asks the server for its version
  # (gcloud's dispatcher) then waits on a server that hangs once, not once per question.
  local view kind name cluster ns contexts='' wanted cluster_of='' shown
  shown=$(kube::kubeconfig_shown)
  view=$(kube::kubectl_plain config view -o 'jsonpath={"current|"}{.current-context}{"\n"}{range .contexts[*]}{"context|"}{.name}{"|"}{.context.cluster}{"|"}{.context.namespace}{"\n"}{end}{range .clusters[*]}{"cluster|"}{.name}{"|"}{.cluster.server}{"\n"}{end}' 2>/dev/null) || view=''
  kube_current_context=$(sed -n 's/^current|//p' <<<"$view")
  contexts=$(sed -n 's/^context|\([^|]*\)|.*/\1/p' <<<"$view")
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
  wanted=${kube_context:-$kube_current_context}
  kube_server=''
  kube_context_namespace=''
  while IFS='|' read -r kind name cluster ns; do
    if [[ "$kind" == context && "$name" == "$wanted" ]]; then
      cluster_of=$cluster
      kube_context_namespace=$ns
    fi
  done <<<"$view"
  if [[ -n "$wanted" ]]; then
    while IFS='|' read -r kind name cluster; do
      [[ "$kind" == cluster && "$name" == "$cluster_of" ]] && kube_server=$cluster
    done <<<"$view"
    [[ -n "$kube_server" ]] || log::die "context \"$wanted\" names a cluster that kubeconfig $shown does not define" 4
  fi
  kube_kubectl_cmd=("$kube_kubectl")
  [[ -z "$kube_kubeconfig" ]] || kube_kubectl_cmd+=(--kubeconfig "$kube_kubeconfig")
  [[ -z "$kube_context" ]] || kube_kubectl_cmd+=(--context "$kube_context")
  if [[ -n "$kube_helm" ]]; then
    kube_helm_cmd=("$kube_helm")
    [[ -z "$kube_kubeconfig" ]] || kube_helm_cmd+=(--kubeconfig "$kube_kubeconfig")
    [[ -z "$kube_context" ]] || kube_helm_cmd+=(--kube-context "$kube_context")
  fi
}

# The kubeconfig as messages name it: the list of files, each an absolute path.
kube::kubeconfig_shown() {
  echo "${kube_kubeconfig_shown:-in-cluster}"
}

# kube::normalize_kubeconfig LIST: each file of a KUBECONFIG-style list (a:b) as an absolute
# path, ~/ expanded, empty entries dropped, as the suite names them.
kube::normalize_kubeconfig() {
  local file out=() tilde_slash='~'/
  while IFS= read -r -d : file; do
    [[ -n "$file" ]] || continue
    [[ "${file:0:2}" != "$tilde_slash" ]] || file="$HOME/${file:2}"
    out+=("$(realpath -m --no-symlinks -- "$file")")
  done <<<"$1:"
  local IFS=:
  echo "${out[*]}"
}

# kube::resolve_namespace GIVEN: GIVEN, else the namespace the target context names, else
# todo-app: the choice of kubectl, helm and the suite. Says so when it is the context's.
kube::resolve_namespace() {
  local given=$1 from_context
  if [[ -n "$given" ]]; then
    echo "$given"
    return
  fi
  from_context=$kube_context_namespace
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
# credentials, within kube_answer_seconds (exit 4, 5 or 8, with the suite's words).
kube::check_reachable() {
  local output status=0 target server=${kube_server:-unknown} code
  target=$(kube::target_context)
  output=$(timeout "$kube_answer_seconds" "${kube_kubectl_cmd[@]}" --request-timeout="${kube_answer_seconds}s" \
    get --raw /version 2>&1 >/dev/null) || status=$?
  ((status != 0)) || return 0
  local first_line=${output%%$'\n'*}
  if ((status == 124)) || grep -qiE 'deadline exceeded|Client\.Timeout|timeout awaiting' <<<"$output"; then
    log::die "cannot reach the Kubernetes API at $server for context \"$target\" (no answer within $kube_answer_seconds s)" 5
  fi
  if grep -qiE '\(Unauthorized\)|must be logged in' <<<"$output"; then
    log::die "the API server at $server rejected the credentials of context \"$target\" (401)" 4
  fi
  if grep -qE '\(Forbidden\)' <<<"$output"; then
    log::die "RBAC forbids reading the server version (403 for context \"$target\"); see suites/README.md for the Role the suite needs" 8
  fi
  if grep -qiE '\(NotFound\)|could not find the requested resource' <<<"$output"; then
    log::die "$server for context \"$target\" is not a Kubernetes API server (reading the server version failed: HTTP 404)" 5
  fi
  code=$(kube::network_code "$output")
  if [[ -n "$code" ]]; then
    log::die "cannot reach the Kubernetes API at $server for context \"$target\" ($code)" 5
  fi
  # No answer and no network failure: the context's connection settings are unusable.
  log::die "cannot talk to the Kubernetes API at $server with context \"$target\": ${first_line#error: }" 4
}

# kube::network_code KUBECTL_OUTPUT: the system error a kubectl failure reports, by the
# name Node gives it (the suite's words), or nothing.
kube::network_code() {
  case "$1" in
    *"connection refused"* | *" was refused"*) echo ECONNREFUSED ;;
    *"connection reset by peer"*) echo ECONNRESET ;;
    *"no route to host"*) echo EHOSTUNREACH ;;
    *"network is unreachable"*) echo ENETUNREACH ;;
    *"no such host"*) echo ENOTFOUND ;;
    *"Temporary failure in name resolution"* | *"server misbehaving"*) echo EAI_AGAIN ;;
    *"i/o timeout"*) echo ETIMEDOUT ;;
    *"certificate has expired"*) echo CERT_HAS_EXPIRED ;;
  esac
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
