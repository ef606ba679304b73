#!/usr/bin/env bash
# Creates or updates the Secret the stack reads (`app-secrets` by default) from environment
# variables or an env file, never from command-line arguments (they would land in shell
# history and in `ps`). Checks each value's shape first and never prints a value.
#
# Usage: scripts/create-secrets.sh [--env-file FILE] [--namespace NS] [--context CTX]
#          [--kubeconfig FILE] [--secret-name NAME] [--dry-run] [--help]
#
# Environment (or the same names in --env-file):
#   DATABASE_URL          PostgreSQL URL, postgres:// or postgresql:// (required)
#   BETTER_AUTH_SECRET    at least 32 characters (required)
#   JWT_SECRET            defaults to BETTER_AUTH_SECRET (older charts read this name)
#   KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD   for a managed broker (optional, both or neither)
#   KUBECTL               kubectl to use (default: kubectl on PATH, else the sandbox's)
set -o errexit -o nounset -o pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/log.sh
source "$script_dir/lib/log.sh"
# shellcheck source=scripts/lib/kube.sh
source "$script_dir/lib/kube.sh"

readonly min_secret_length=32
values=''

usage() {
  cat <<'EOF'
Usage: scripts/create-secrets.sh [--env-file FILE] [--namespace NS] [--context CTX]
         [--kubeconfig FILE] [--secret-name NAME] [--dry-run] [--help]

Creates or updates the Secret the Todo stack reads, from environment variables or an env
file (KEY=value lines). Values are never taken from arguments and never printed.

  --env-file FILE     read DATABASE_URL, BETTER_AUTH_SECRET, ... from FILE
  --namespace NS      namespace (default: the context's, else todo-app; created when missing)
  --context CTX       kube context (default: the current one)
  --kubeconfig FILE   kubeconfig (default: $KUBECONFIG or ~/.kube/config)
  --secret-name NAME  Secret name (default: app-secrets)
  --dry-run           check the values and show what would change, change nothing

Variables: DATABASE_URL (postgres:// or postgresql://), BETTER_AUTH_SECRET (>= 32
characters), JWT_SECRET (defaults to BETTER_AUTH_SECRET), KAFKA_SASL_USERNAME and
KAFKA_SASL_PASSWORD (optional, both or neither).
EOF
  kube::exit_codes_help
}

# read_env_file FILE: export KEY=value lines; comments and blank lines are skipped. The
# file is parsed, not sourced, so it cannot run commands.
read_env_file() {
  local file=$1 line key value number=0
  [[ -r "$file" ]] || log::die "cannot read env file '$file'" 2
  while IFS= read -r line || [[ -n "$line" ]]; do
    number=$((number + 1))
    [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
    if [[ ! "$line" =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]]; then
      log::die "$file line $number is not KEY=value" 2
    fi
    key=${BASH_REMATCH[2]}
    value=${BASH_REMATCH[3]}
    # One level of matching quotes is removed, as a shell would.
    if [[ "$value" =~ ^\"(.*)\"$ || "$value" =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
    export "$key=$value"
  done <"$file"
}

validate() {
  [[ -n "${DATABASE_URL:-}" ]] || log::die "DATABASE_URL is not set; export it or put it in --env-file" 2
  [[ "$DATABASE_URL" =~ ^postgres(ql)?://[^/@[:space:]]+(:[^@[:space:]]*)?@[^/:[:space:]]+(:[0-9]+)?/[^[:space:]?]+(\?.*)?$ ]] ||
    log::die "DATABASE_URL is not a PostgreSQL URL (postgresql://USER:PASSWORD@HOST[:PORT]/DATABASE[?sslmode=require])" 2
  [[ -n "${BETTER_AUTH_SECRET:-}" ]] || log::die "BETTER_AUTH_SECRET is not set; generate one with: openssl rand -base64 48" 2
  ((${#BETTER_AUTH_SECRET} >= min_secret_length)) ||
    log::die "BETTER_AUTH_SECRET has ${#BETTER_AUTH_SECRET} characters; it needs at least $min_secret_length (openssl rand -base64 48)" 2
  JWT_SECRET=${JWT_SECRET:-$BETTER_AUTH_SECRET}
  ((${#JWT_SECRET} >= min_secret_length)) ||
    log::die "JWT_SECRET has ${#JWT_SECRET} characters; it needs at least $min_secret_length" 2
  if [[ -n "${KAFKA_SASL_USERNAME:-}" && -z "${KAFKA_SASL_PASSWORD:-}" ]] ||
     [[ -z "${KAFKA_SASL_USERNAME:-}" && -n "${KAFKA_SASL_PASSWORD:-}" ]]; then
    log::die "set both KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD, or neither" 2
  fi
}

main() {
  if kube::help_requested "$@"; then usage; return; fi
  local env_file='' namespace='' context='' kubeconfig='' secret_name=app-secrets dry_run=''
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --env-file|--namespace|--context|--kube-context|--kubeconfig|--secret-name)
        [[ $# -ge 2 && -n "$2" ]] || log::die "$1 needs a value (see --help)" 2 ;;&
      --env-file) env_file=$2; shift 2 ;;
      --namespace) namespace=$2; shift 2 ;;
      --context|--kube-context) context=$2; shift 2 ;;
      --kubeconfig) kubeconfig=$2; shift 2 ;;
      --secret-name) secret_name=$2; shift 2 ;;
      --dry-run) dry_run=1; shift ;;
      -h|--help) usage; return ;;
      *) log::die "unknown argument '$1' (see --help); secret values are read from the environment, never from arguments" 2 ;;
    esac
  done
  [[ -z "$env_file" ]] || read_env_file "$env_file"
  validate

  # The target is checked before anything is written: kubeconfig, context, a Kubernetes API
  # that accepts the credentials.
  kube::setup "$kubeconfig" "$context"
  namespace=$(kube::resolve_namespace "$namespace")
  kube::check_reachable

  # The values reach kubectl through a private file, never through arguments.
  values=$(mktemp)
  chmod 600 "$values"
  trap 'rm -f "$values"' EXIT
  {
    printf 'DATABASE_URL=%s\n' "$DATABASE_URL"
    printf 'BETTER_AUTH_SECRET=%s\n' "$BETTER_AUTH_SECRET"
    printf 'JWT_SECRET=%s\n' "$JWT_SECRET"
    if [[ -n "${KAFKA_SASL_USERNAME:-}" ]]; then
      printf 'KAFKA_SASL_USERNAME=%s\n' "$KAFKA_SASL_USERNAME"
      printf 'KAFKA_SASL_PASSWORD=%s\n' "$KAFKA_SASL_PASSWORD"
    fi
  } >"$values"

  local apply=(apply -f -)
  [[ -z "$dry_run" ]] || apply=(apply --dry-run=server -f -)
  if ! kube::namespace_exists "$namespace"; then
    if [[ -n "$dry_run" ]]; then
      # A server-side dry run cannot place the Secret in a namespace that does not exist
      # yet; the Secret is then checked on the client only.
      log::info "namespace $namespace does not exist; it would be created (dry run)"
      apply=(apply --dry-run=client -f -)
    else
      log::info "creating namespace $namespace"
      kube::kubectl create namespace "$namespace" --dry-run=client -o yaml | kube::kubectl "${apply[@]}" >/dev/null ||
        log::die "could not create namespace $namespace (see the kubectl error above)" 1
    fi
  fi
  local result
  result=$(kube::kubectl -n "$namespace" create secret generic "$secret_name" \
    --from-env-file="$values" --dry-run=client -o yaml |
    kube::kubectl -n "$namespace" "${apply[@]}") ||
    log::die "could not apply Secret $namespace/$secret_name (see the kubectl error above)" 1
  # kubectl prints only the object's name and what happened to it, never its data.
  log::info "${result}; keys: DATABASE_URL BETTER_AUTH_SECRET JWT_SECRET${KAFKA_SASL_USERNAME:+ KAFKA_SASL_USERNAME KAFKA_SASL_PASSWORD}"
}

main "$@"
