#!/usr/bin/env bash
# `npm run demo`: the whole job on the local sandbox. Installs what is missing, brings the
# sandbox up, builds the reference stack, deploys the charts with it, waits for everything
# to be Ready, then runs the validation suite and prints where its report is. Running it
# again reuses the sandbox that is up and upgrades the release in place.
#
# Usage: scripts/demo.sh [--env ENV] [--help]
#
# Environment:
#   TODO_SANDBOX_HOME, TODO_SANDBOX_DIR, TODO_SANDBOX_*  as for scripts/sandbox/up.sh
#   CI, NO_COLOR                                            plain output
set -o errexit -o nounset -o pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
# shellcheck source=scripts/lib/log.sh
source "$script_dir/lib/log.sh"
# shellcheck source=scripts/sandbox/versions.env
source "$script_dir/sandbox/versions.env"
# shellcheck source=scripts/sandbox/tools.sh
source "$script_dir/sandbox/tools.sh"
# shellcheck source=scripts/sandbox/common.sh
source "$script_dir/sandbox/common.sh"
# shellcheck source=scripts/sandbox/addons/addons.sh
source "$script_dir/sandbox/addons/addons.sh"
# shellcheck source=scripts/sandbox/images/beside.sh
source "$script_dir/sandbox/images/beside.sh"

readonly namespace=todo-app
readonly release=todo-app
readonly deploy_timeout=10m

usage() {
  cat <<EOF
Usage: scripts/demo.sh [--env ENV] [--help]

Brings the sandbox up, builds the stack's images from their Dockerfiles into the sandbox's
registry, installs Dapr's control plane from its own chart, deploys the Todo stack with
helm/todo-app (release '$release' in namespace '$namespace'), and validates it.
Stop everything with: npm run sandbox:down

  --env ENV   the chart's values for an environment: default (the chart's own values),
              dev, staging or prod (helm/todo-app/values-ENV.yaml). prod runs on three
              nodes (the sandbox starts with --nodes 3), with the few changes in
              scripts/sandbox/values-prod.yaml
EOF
}

environment=default

# The values files of the environment, as helm arguments.
environment_values() {
  [[ "$environment" == default ]] && return 0
  echo "--values=$repo_root/helm/todo-app/values-$environment.yaml"
  [[ ! -f "$script_dir/sandbox/values-$environment.yaml" ]] || echo "--values=$script_dir/sandbox/values-$environment.yaml"
}

# How many nodes the environment's spread needs; empty leaves the sandbox as it is.
environment_nodes() {
  [[ "$environment" != prod ]] || echo 3
}

helm_() { log::run "$TODO_SANDBOX_HOME/bin/helm" --kubeconfig "$sandbox_kubeconfig" "$@"; }

# The sandbox's PostgreSQL stands in for the managed database; the auth secret is made once
# and kept in the sandbox directory, so a second run does not roll every pod.
create_secrets() {
  local auth_secret_file="$TODO_SANDBOX_DIR/auth-secret"
  if [[ ! -f "$auth_secret_file" ]]; then
    (umask 077 && openssl rand -base64 48 | tr -d '\n' >"$auth_secret_file")
  fi
  DATABASE_URL=$(<"$TODO_SANDBOX_DIR/database-url") BETTER_AUTH_SECRET=$(<"$auth_secret_file") \
    KUBECTL="$TODO_SANDBOX_HOME/bin/kubectl" \
    bash "$script_dir/create-secrets.sh" --kubeconfig "$sandbox_kubeconfig" --namespace "$namespace"
}

# The digest the registry holds now for todo-CHART:1.0.0. The tags stay 1.0.0 while the
# reference stack changes: deployed by digest, a rebuilt image rolls its pods (and a node
# never runs a stale copy it cached under the same tag).
image_digest() {
  curl -sfI --max-time 10 \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json' \
    "http://$sandbox_registry_address/v2/todo-$1/manifests/1.0.0" | tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" { print $2 }'
}

deploy() {
  (cd "$repo_root/helm/todo-app" && "$TODO_SANDBOX_HOME/bin/helm" dependency build . >/dev/null)
  local started=$SECONDS
  local -a digests=()
  local chart digest
  for chart in frontend backend recurring-task-service notification-service; do
    digest=$(image_digest "$chart") || digest=''
    [[ "$digest" == sha256:* ]] || log::die "the registry at $sandbox_registry_address has no image todo-$chart:1.0.0; run npm run demo again to build it" 1
    digests+=(--set "$chart.image.digest=$digest")
  done
  local -a values
  mapfile -t values < <(environment_values)
  helm_ upgrade --install "$release" "$repo_root/helm/todo-app" --namespace "$namespace" "${values[@]}" \
    --set "global.imageRegistry=$sandbox_registry_address" "${digests[@]}" --wait --timeout "$deploy_timeout" >/dev/null
  log::info "release $release ($environment values) deployed and every workload Ready in $((SECONDS - started)) s"
}

# The frontend's LoadBalancer address, else its NodePort on the first node's address: where
# the root namespace (a browser on this machine) reaches it.
frontend_url() {
  local node_port address
  address=$("$TODO_SANDBOX_HOME/bin/kubectl" --kubeconfig "$sandbox_kubeconfig" -n "$namespace" \
    get service frontend -o 'jsonpath={.status.loadBalancer.ingress[0].ip}' 2>/dev/null) || address=''
  node_port=$("$TODO_SANDBOX_HOME/bin/kubectl" --kubeconfig "$sandbox_kubeconfig" -n "$namespace" \
    get service frontend -o 'jsonpath={.spec.ports[0].nodePort}' 2>/dev/null) || node_port=''
  if [[ -n "$address" ]]; then
    echo "http://$address/"
  elif [[ -n "$node_port" ]]; then
    echo "http://$(sandbox_node_ip 1):$node_port/"
  else
    echo "no NodePort on Service frontend (kubectl -n $namespace get service frontend)"
  fi
}

main() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --env)
        [[ $# -ge 2 && "$2" =~ ^(default|dev|staging|prod)$ ]] ||
          log::die "--env needs one of default, dev, staging, prod, e.g. --env prod" 2
        environment=$2; shift 2 ;;
      -h|--help) usage; return ;;
      *) log::die "unknown argument '$1' (see --help)" 2 ;;
    esac
  done
  local started=$SECONDS nodes
  nodes=$(environment_nodes)
  log::step "set-up: tools and dependencies"
  bash "$script_dir/setup.sh" --for images
  if go_tools_missing; then
    trap stop_images_build EXIT
    build_images_beside
  fi
  bash "$script_dir/setup.sh" --for demo
  log::step "sandbox"
  bash "$script_dir/sandbox/up.sh" --no-wait-addons ${nodes:+--nodes "$nodes"}
  [[ -z "$images_pid" ]] || wait_for_images
  bash "$script_dir/sandbox/prepare-stack.sh"
  addons::wait
  log::step "secrets (namespace $namespace)"
  create_secrets
  log::step "deploying helm/todo-app"
  deploy
  "$TODO_SANDBOX_HOME/bin/kubectl" --kubeconfig "$sandbox_kubeconfig" -n "$namespace" get pods
  log::step "validating the deployment"
  local status=0
  (cd "$repo_root" && npx tsx suites/cli.ts --kubeconfig "$sandbox_kubeconfig" --namespace "$namespace" --release "$release") || status=$?
  echo
  log::info "demo finished in $((SECONDS - started)) s; report: $repo_root/reports/latest/"
  log::info "the frontend: $(frontend_url)"
  log::info "point kubectl at the sandbox with: export KUBECONFIG=$sandbox_kubeconfig"
  log::info "stop everything with: npm run sandbox:down"
  return "$status"
}

main "$@"
