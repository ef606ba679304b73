#!/usr/bin/env bash
# Brings up the sandbox: a real Kubernetes control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler) on this machine, real nodes (containerd, runc,
# the kubelet and kube-proxy), each in a network namespace and a zone of its own, an image
# registry, CoreDNS and metrics-server, and a PostgreSQL server standing in for the managed
# database. docs/sandbox.md has the layers and the address plan. Needs root. Safe to run
# again: a sandbox that is already up is left as it is.
#
# Usage: scripts/sandbox/up.sh [--nodes N] [--no-wait-addons] [--help]
#
# Environment:
#   TODO_SANDBOX_HOME   tool cache (default: ~/.cache/todo-sandbox)
#   TODO_SANDBOX_DIR    state, certificates, kubeconfig and logs (default: <repo>/.sandbox)
#   TODO_SANDBOX_*_PORT ports: ETCD (23790) and ETCD_PEER (23800), KCM (20257) and
#                       SCHEDULER (20259) on 127.0.0.1; API (16443), REGISTRY (5000) and
#                       POSTGRES (25432) on the sandbox bridge (POSTGRES on 127.0.0.1 too)
#   TODO_SANDBOX_HOST_NET, _POD_NET, _SERVICE_NET, _LINK_PREFIX  the address plan
#   CI, NO_COLOR        plain output
set -o errexit -o nounset -o pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/log.sh
source "$script_dir/../lib/log.sh"
# shellcheck source=scripts/sandbox/versions.env
source "$script_dir/versions.env"
# shellcheck source=scripts/sandbox/tools.sh
source "$script_dir/tools.sh"
# shellcheck source=scripts/sandbox/common.sh
source "$script_dir/common.sh"
# shellcheck source=scripts/lib/npm.sh
source "$script_dir/../lib/npm.sh"
# shellcheck source=scripts/sandbox/node/node.sh
source "$script_dir/node/node.sh"
# shellcheck source=scripts/lib/images.sh
source "$script_dir/../lib/images.sh"
# shellcheck source=scripts/sandbox/addons/addons.sh
source "$script_dir/addons/addons.sh"

readonly api_ready_timeout=90
readonly node_ready_timeout=60

usage() {
  cat <<EOF
Usage: scripts/sandbox/up.sh [--nodes N] [--no-wait-addons] [--help]

Starts the sandbox cluster (a control plane and real nodes: kubelet, kube-proxy, containerd
and runc in a network namespace each, images from the sandbox's registry, CoreDNS,
metrics-server; needs root; docs/sandbox.md) and writes its admin kubeconfig to
$sandbox_kubeconfig. Installs missing tools first. Running it again while the sandbox is up
changes nothing.

  --nodes N         how many nodes, 1 to $sandbox_max_nodes (default 1), each in its own zone
                    (topology.kubernetes.io/zone=sandbox-a, sandbox-b, ...); the nodes share
                    this machine's cores and memory, and each reports all of them
  --no-wait-addons  return once the node is Ready and CoreDNS and metrics-server are
                    applied, without waiting for them to be Ready (npm run demo waits for
                    them after building its images)
EOF
}

bin() { echo "$(tool_dir "$1")/bin/$2"; }

# --- certificates --------------------------------------------------------------------------

# issue_cert NAME SUBJECT [SAN]: a key and a certificate signed by the sandbox CA.
issue_cert() {
  local name=$1 subject=$2 san=${3:-}
  local ext="$sandbox_pki/$name.ext"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [[ -n "$san" ]]; then
      echo "extendedKeyUsage=serverAuth,clientAuth"
      echo "subjectAltName=$san"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } >"$ext"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$sandbox_pki/$name.key" \
    -subj "$subject" -out "$sandbox_pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$sandbox_pki/$name.csr" -CA "$sandbox_pki/ca.crt" -CAkey "$sandbox_pki/ca.key" \
    -CAcreateserial -days 365 -sha256 -extfile "$ext" -out "$sandbox_pki/$name.crt" 2>/dev/null
  rm -f "$sandbox_pki/$name.csr" "$ext"
}

make_pki() {
  [[ -f "$sandbox_pki/.complete" ]] && return
  log::step "creating certificates in $sandbox_pki"
  rm -rf "$sandbox_pki"; mkdir -p "$sandbox_pki"; chmod 700 "$sandbox_pki"
  openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$sandbox_pki/ca.key" \
    -subj "/CN=todo-sandbox-ca" -days 3650 -sha256 -out "$sandbox_pki/ca.crt" 2>/dev/null
  local api_san="IP:127.0.0.1,IP:$sandbox_bridge_ip,IP:$sandbox_kubernetes_service_ip"
  api_san+=",DNS:localhost,DNS:kubernetes,DNS:kubernetes.default"
  api_san+=",DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  issue_cert apiserver "/CN=kube-apiserver" "$api_san"
  issue_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  issue_cert admin "/O=system:masters/CN=todo-sandbox-admin"
  issue_cert kube-controller-manager "/CN=system:kube-controller-manager"
  issue_cert kube-scheduler "/CN=system:kube-scheduler"
  # The real nodes: a client certificate puts each under the Node authorizer, its serving
  # certificate is verified by the API server, kube-proxy is bound to system:node-proxier.
  local node name
  for ((node = 1; node <= node_count; node++)); do
    name=$(sandbox_node_name "$node")
    issue_cert "$name" "/O=system:nodes/CN=system:node:$name"
    issue_cert "$name-serving" "/CN=$name" "IP:$(sandbox_node_ip "$node"),DNS:$name"
  done
  issue_cert kube-proxy "/CN=system:kube-proxy"
  issue_cert kube-router "/CN=todo-sandbox:kube-router"
  issue_cert front-proxy-client "/CN=front-proxy-client"
  openssl genrsa -out "$sandbox_pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$sandbox_pki/sa.key" -pubout -out "$sandbox_pki/sa.pub" 2>/dev/null
  touch "$sandbox_pki/.complete"
}

# write_kubeconfig FILE USER CONTEXT: a kubeconfig for the sandbox API with a client cert.
write_kubeconfig() {
  local file=$1 user=$2 context=$3
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: $sandbox_context
  cluster:
    server: https://$sandbox_bridge_ip:$TODO_SANDBOX_API_PORT
    certificate-authority: $sandbox_pki/ca.crt
users:
- name: $user
  user:
    client-certificate: $sandbox_pki/$user.crt
    client-key: $sandbox_pki/$user.key
contexts:
- name: $context
  context:
    cluster: $sandbox_context
    user: $user
current-context: $context
EOF
  chmod 600 "$file"
}

# --- components ---------------------------------------------------------------------------

require_alive() {
  local name=$1
  component_pid "$name" >/dev/null && return
  log::error "$name exited during start-up; last lines of $sandbox_logs/$name.log:"
  tail -n 15 "$sandbox_logs/$name.log" >&2 || true
  exit 1
}

start_etcd() {
  start_component etcd "$(bin kubernetes etcd)" \
    --name sandbox \
    --data-dir "$TODO_SANDBOX_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$TODO_SANDBOX_ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$TODO_SANDBOX_ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$TODO_SANDBOX_ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$TODO_SANDBOX_ETCD_PEER_PORT" \
    --initial-cluster "sandbox=http://127.0.0.1:$TODO_SANDBOX_ETCD_PEER_PORT" \
    --listen-metrics-urls "" \
    --unsafe-no-fsync \
    --log-level warn
  if ! wait_for 30 curl -fsS "http://127.0.0.1:$TODO_SANDBOX_ETCD_PORT/health"; then
    require_alive etcd
    log::die "etcd did not report healthy within 30 s; see $sandbox_logs/etcd.log"
  fi
}

start_apiserver() {
  # The node's serving certificate is verified. The API server stays outside the pod
  # network, as on most clusters' control planes, and reaches webhooks and aggregated APIs
  # at their pods' addresses (routed through the node), never at a Service address.
  start_component kube-apiserver "$(bin kubernetes kube-apiserver)" \
    --etcd-servers "http://127.0.0.1:$TODO_SANDBOX_ETCD_PORT" \
    --bind-address "$sandbox_bridge_ip" \
    --advertise-address "$sandbox_bridge_ip" \
    --secure-port "$TODO_SANDBOX_API_PORT" \
    --tls-cert-file "$sandbox_pki/apiserver.crt" \
    --tls-private-key-file "$sandbox_pki/apiserver.key" \
    --client-ca-file "$sandbox_pki/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$sandbox_pki/sa.pub" \
    --service-account-signing-key-file "$sandbox_pki/sa.key" \
    --service-cluster-ip-range "$sandbox_service_cidr" \
    --authorization-mode Node,RBAC \
    --enable-admission-plugins NodeRestriction \
    --allow-privileged=true \
    --kubelet-client-certificate "$sandbox_pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$sandbox_pki/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types InternalIP \
    --kubelet-certificate-authority "$sandbox_pki/ca.crt" \
    --enable-aggregator-routing=true \
    --requestheader-client-ca-file "$sandbox_pki/ca.crt" \
    --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User \
    --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --proxy-client-cert-file "$sandbox_pki/front-proxy-client.crt" \
    --proxy-client-key-file "$sandbox_pki/front-proxy-client.key" \
    --endpoint-reconciler-type lease \
    --enable-priority-and-fairness=false \
    --profiling=false \
    --v 1
  # The API server answers /readyz only once its post-start hooks (RBAC bootstrap
  # roles among them) have finished.
  if ! wait_for "$api_ready_timeout" \
      sandbox_kubectl get --raw /readyz; then
    require_alive kube-apiserver
    log::die "kube-apiserver was not ready within ${api_ready_timeout}s; see $sandbox_logs/kube-apiserver.log"
  fi
}

start_controller_manager() {
  start_component kube-controller-manager "$(bin kubernetes kube-controller-manager)" \
    --kubeconfig "$TODO_SANDBOX_DIR/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig "$TODO_SANDBOX_DIR/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig "$TODO_SANDBOX_DIR/kube-controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 \
    --secure-port "$TODO_SANDBOX_KCM_PORT" \
    --leader-elect=false \
    --use-service-account-credentials=true \
    --service-account-private-key-file "$sandbox_pki/sa.key" \
    --root-ca-file "$sandbox_pki/ca.crt" \
    --cluster-signing-cert-file "$sandbox_pki/ca.crt" \
    --cluster-signing-key-file "$sandbox_pki/ca.key" \
    --service-cluster-ip-range "$sandbox_service_cidr" \
    --v 1
}

start_scheduler() {
  start_component kube-scheduler "$(bin kubernetes kube-scheduler)" \
    --kubeconfig "$TODO_SANDBOX_DIR/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig "$TODO_SANDBOX_DIR/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig "$TODO_SANDBOX_DIR/kube-scheduler.kubeconfig" \
    --bind-address 127.0.0.1 \
    --secure-port "$TODO_SANDBOX_SCHEDULER_PORT" \
    --leader-elect=false \
    --v 1
}

# PostgreSQL refuses to run as root, so as root the server runs as Debian's `postgres` user,
# from the binaries' real location (that user cannot enter root's tool cache).
pg_bin() { readlink -f "$(bin postgresql "$1")"; }

as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start_postgresql() {
  local data="$TODO_SANDBOX_DIR/postgres" password_file="$TODO_SANDBOX_DIR/postgres-password"
  if [[ ! -f "$data/PG_VERSION" ]]; then
    mkdir -p "$data"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$data"
    head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$password_file"
    chmod 600 "$password_file"
    as_postgres "$(pg_bin initdb)" -D "$data" -U postgres --auth-local=trust \
      --auth-host=scram-sha-256 >"$sandbox_logs/postgresql-initdb.log" 2>&1 ||
      log::die "initdb failed; see $sandbox_logs/postgresql-initdb.log"
  fi
  # Pods reach the database on the bridge, as they would a managed one outside the
  # cluster; their connections come from the node's address.
  local listen="127.0.0.1,$sandbox_bridge_ip" database_host=$sandbox_bridge_ip
  grep -q "$TODO_SANDBOX_HOST_NET.0/24" "$data/pg_hba.conf" ||
    echo "host all todo $TODO_SANDBOX_HOST_NET.0/24 scram-sha-256" >>"$data/pg_hba.conf"
  local as_user=()
  [[ $(id -u) -eq 0 ]] && as_user=(runuser -u postgres --)
  start_component postgresql "${as_user[@]}" "$(pg_bin postgres)" -D "$data" \
    -p "$TODO_SANDBOX_POSTGRES_PORT" -c listen_addresses="$listen" -k "$data" -c fsync=off
  if ! wait_for 30 "$(bin postgresql pg_isready)" -h 127.0.0.1 -p "$TODO_SANDBOX_POSTGRES_PORT"; then
    require_alive postgresql
    log::die "PostgreSQL did not accept connections within 30 s; see $sandbox_logs/postgresql.log"
  fi
  # The application's role and database; the password never leaves the sandbox directory.
  # The role may create databases, so that each stack a test deploys gets one of its own.
  local password; password=$(<"$password_file")
  as_postgres "$(pg_bin psql)" -h "$data" -p "$TODO_SANDBOX_POSTGRES_PORT" -U postgres -q -v ON_ERROR_STOP=1 \
    -v password="$password" >/dev/null <<'SQL'
SELECT format('CREATE ROLE todo LOGIN CREATEDB PASSWORD %L', :'password') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'todo')\gexec
SELECT 'CREATE DATABASE todo OWNER todo' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'todo')\gexec
SQL
  echo "postgresql://todo:$password@$database_host:$TODO_SANDBOX_POSTGRES_PORT/todo?sslmode=disable" >"$TODO_SANDBOX_DIR/database-url"
  chmod 600 "$TODO_SANDBOX_DIR/database-url"
}

# The registry's storage is a cache, like the images' layers: kept in the tool cache across
# `down` and `up` (one per link prefix, as only one sandbox with a prefix runs at a time), so
# that the images of an earlier `up` are not pushed again.
start_registry() {
  export registry_dir="$TODO_SANDBOX_HOME/registry/$TODO_SANDBOX_LINK_PREFIX" registry_address=$sandbox_registry_address
  mkdir -p "$registry_dir"
  render_template "$script_dir/registry/config.yml" >"$TODO_SANDBOX_DIR/registry.yml"
  start_component registry "$(bin registry registry)" serve "$TODO_SANDBOX_DIR/registry.yml"
  if ! wait_for 30 curl -fsS "http://$sandbox_registry_address/v2/"; then
    require_alive registry
    log::die "the registry did not answer on $sandbox_registry_address within 30 s; see $sandbox_logs/registry.log"
  fi
}

# --- cluster objects ----------------------------------------------------------------------------

# The default StorageClass of the real node: local volumes, made ahead on the node as a
# static provisioner would (a volume's capacity is not enforced). Unlike host-path volumes,
# the kubelet applies a pod's fsGroup to them, as to a cloud disk, so a non-root workload
# can write its claim. A released volume keeps its data (Retain) and is not bound again.
readonly node_volumes=32 node_volume_size=64Gi

apply_node_cluster_objects() {
  {
    cat <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/no-provisioner
reclaimPolicy: Retain
volumeBindingMode: WaitForFirstConsumer
EOF
    local node name volumes index
    for ((node = 1; node <= node_count; node++)); do
      name=$(sandbox_node_name "$node") volumes="$(node_dir "$node")/volumes"
      for ((index = 0; index < node_volumes; index++)); do
        mkdir -p "$volumes/volume-$index"
        cat <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $name-volume-$index
spec:
  capacity: {storage: $node_volume_size}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: standard
  local: {path: $volumes/volume-$index}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - {key: kubernetes.io/hostname, operator: In, values: [$name]}
EOF
      done
    done
  } | sandbox_kubectl apply --server-side --force-conflicts -f - >/dev/null
}

# What kube-router's network policy controller reads (its upstream ClusterRole, without the
# routing and Service proxy parts it does not run here).
apply_kube_router_rbac() {
  sandbox_kubectl apply --server-side --force-conflicts -f - >/dev/null <<'EOF'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: todo-sandbox:kube-router
rules:
- apiGroups: [""]
  resources: [namespaces, pods, services, nodes, endpoints]
  verbs: [get, list, watch]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [get, list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: todo-sandbox:kube-router
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: todo-sandbox:kube-router}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: todo-sandbox:kube-router}
EOF
}

# Every node starts at once; each pulls its own pause image and joins on its own.
start_nodes() {
  local node name
  for ((node = 1; node <= node_count; node++)); do
    node::write_config "$node"
    write_kubeconfig "$(node_dir "$node")/kubelet.kubeconfig" "$(sandbox_node_name "$node")" kubelet
    node::start_containerd "$node"
  done
  for ((node = 1; node <= node_count; node++)); do
    node::wait_containerd "$node"
    node::start_kubelet "$node"
    node::start_kube_proxy "$node"
  done
  local deadline=$((SECONDS + node_ready_timeout))
  for ((node = 1; node <= node_count; node++)); do
    name=$(sandbox_node_name "$node")
    until sandbox_kubectl wait --for=condition=Ready "node/$name" --timeout=1s >/dev/null 2>&1; do
      require_alive "$(node_component "$node" containerd)"
      require_alive "$(node_component "$node" kubelet)"
      ((SECONDS < deadline)) ||
        log::die "node $name was not Ready within ${node_ready_timeout}s; see $sandbox_logs/$(node_component "$node" kubelet).log"
      sleep 0.5
    done
    # The API server (admission webhooks, aggregated APIs) reaches the node's pods through
    # the node, as a control plane reaches the pod network on a cluster.
    ip route replace "$(sandbox_node_pod_cidr "$node")" via "$(sandbox_node_ip "$node")" dev "$sandbox_bridge"
    sandbox_kubectl label --overwrite "node/$name" node-role.kubernetes.io/sandbox= >/dev/null
    # kube-router finds its node by name, so it starts once the node is registered.
    node::start_kube_router "$node"
  done
}

# --- driver -------------------------------------------------------------------------------

# state_of_sandbox: "up" when every component runs, "down" when none has state, else
# "stale" (a crash or a kill left some of it behind).
state_of_sandbox() {
  local running=0 recorded=0 name components
  mapfile -t components < <(sandbox_components "$(sandbox_node_count)")
  for name in "${components[@]}"; do
    [[ -f "$sandbox_pids/$name.pid" ]] && recorded=$((recorded + 1))
    component_pid "$name" >/dev/null && running=$((running + 1))
  done
  if ((running == ${#components[@]})); then
    echo up
  elif ((recorded == 0 && running == 0)) && [[ ! -d "$TODO_SANDBOX_DIR/etcd" ]]; then
    echo down
  else
    echo stale
  fi
}

check_ports_free() {
  local name port
  for name in "${sandbox_control_plane[@]}"; do
    # These listen on the sandbox bridge's address, which is new.
    [[ "$name" == kube-apiserver || "$name" == registry ]] && continue
    port=$(component_port "$name")
    if [[ -n "$port" ]] && port_in_use "$port"; then
      log::die "port $port on 127.0.0.1 (for $name) is already in use by another program; stop it or set $(component_port_variable "$name") to a free port" 4
    fi
  done
  if port_in_use "$TODO_SANDBOX_ETCD_PEER_PORT"; then
    log::die "port $TODO_SANDBOX_ETCD_PEER_PORT on 127.0.0.1 (for etcd peers) is already in use; stop that program or set TODO_SANDBOX_ETCD_PEER_PORT to a free port" 4
  fi
}


wait_addons=1
node_count=''

main() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --no-wait-addons) wait_addons=''; shift ;;
      --nodes)
        if ! [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || (($2 > sandbox_max_nodes)); then
          log::die "--nodes needs a number from 1 to $sandbox_max_nodes, e.g. --nodes 3" 2
        fi
        node_count=$2; shift 2 ;;
      -h|--help) usage; return ;;
      *) log::die "unknown argument '$1' (see --help)" 2 ;;
    esac
  done

  case "$(state_of_sandbox)" in
    up)
      local running; running=$(sandbox_node_count)
      [[ -z "$node_count" || "$running" == "$node_count" ]] ||
        log::die "the sandbox is already up with $running node(s); to run it with $node_count, stop it first with 'npm run sandbox:down'" 5
      log::info "the sandbox is already up; kubeconfig: $sandbox_kubeconfig"
      return ;;
    stale)
      log::die "$TODO_SANDBOX_DIR holds a sandbox that is partly stopped (a crash or a kill?); run 'npm run sandbox:down' to clear it, then 'npm run sandbox:up'" 5 ;;
  esac

  node_count=${node_count:-1}
  up_with_node
}

# Real nodes: containerd, the kubelet and kube-proxy in a network namespace of their own,
# pulling from the sandbox's registry; the control plane, the registry and PostgreSQL on
# the root namespace's side of the sandbox bridge.
up_with_node() {
  local started=$SECONDS
  [[ $(id -u) -eq 0 ]] ||
    log::die "the sandbox needs root (network namespaces, cgroups, mounts); run it as root" 3
  if ip link show "$sandbox_bridge" >/dev/null 2>&1; then
    nodes::abandoned ||
      log::die "network link $sandbox_bridge belongs to another running sandbox (TODO_SANDBOX_LINK_PREFIX=$TODO_SANDBOX_LINK_PREFIX); stop it with 'npm run sandbox:down' from its directory, or set TODO_SANDBOX_LINK_PREFIX" 4
    log::warn "taking over the network and cgroups of a sandbox that crashed ($sandbox_bridge and its nodes' namespaces: no process left in them)"
    nodes::reclaim_abandoned
  fi
  log::step "checking tools"
  bash "$script_dir/install-tools.sh" \
    --only postgresql,kubernetes,helm,node-runtime,image-builder,kubernetes-node,coredns,metrics-server,registry,kube-router,metallb,traefik
  npm::ensure_dependencies "$sandbox_repo_root" "the project"
  check_ports_free
  started=$SECONDS

  mkdir -p "$TODO_SANDBOX_DIR" "$sandbox_logs"
  echo "$node_count" >"$sandbox_node_count_file"
  make_pki
  write_kubeconfig "$sandbox_kubeconfig" admin "$sandbox_context"
  write_kubeconfig "$TODO_SANDBOX_DIR/kube-controller-manager.kubeconfig" kube-controller-manager kube-controller-manager
  write_kubeconfig "$TODO_SANDBOX_DIR/kube-scheduler.kubeconfig" kube-scheduler kube-scheduler
  write_kubeconfig "$TODO_SANDBOX_DIR/kube-proxy.kubeconfig" kube-proxy kube-proxy
  write_kubeconfig "$TODO_SANDBOX_DIR/kube-router.kubeconfig" kube-router kube-router

  log::step "network: bridge $sandbox_bridge ($sandbox_bridge_ip), $node_count node namespace(s) from $(sandbox_node_netns 1) ($(sandbox_node_ip 1))"
  nodes::network_up "$node_count"
  log::step "starting PostgreSQL on 127.0.0.1 and $sandbox_bridge_ip:$TODO_SANDBOX_POSTGRES_PORT"
  start_postgresql
  log::step "starting etcd on 127.0.0.1:$TODO_SANDBOX_ETCD_PORT"
  start_etcd
  log::step "starting kube-apiserver on https://$sandbox_bridge_ip:$TODO_SANDBOX_API_PORT"
  start_apiserver
  log::info "API healthy after $((SECONDS - started)) s"
  log::step "starting kube-controller-manager, kube-scheduler and the registry ($sandbox_registry_address)"
  start_controller_manager
  start_scheduler
  start_registry
  apply_node_cluster_objects
  apply_kube_router_rbac
  log::step "building the node's images (pause, CoreDNS, metrics-server) and pushing them"
  addons::push_node_images
  log::step "starting $node_count node(s): containerd, kubelet, kube-proxy"
  start_nodes
  log::info "$node_count node(s) Ready after $((SECONDS - started)) s"
  wait_for 30 sandbox_kubectl -n default get serviceaccount default ||
    log::die "the controller manager created no default ServiceAccount within 30 s; see $sandbox_logs/kube-controller-manager.log"
  log::step "add-ons: CoreDNS, metrics-server"
  addons::install
  if [[ -n "$wait_addons" ]]; then addons::wait; fi
  local name
  for name in $(sandbox_components "$node_count"); do require_alive "$name"; done
  log::info "sandbox up in $((SECONDS - started)) s"
  log::info "use it with: export KUBECONFIG=$sandbox_kubeconfig"
}

main "$@"
