#!/usr/bin/env bash
# Brings up the sandbox: a real Kubernetes control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler) on this machine, kwok standing in for the node's
# kubelet API, the host runtime that runs each pod's containers as host processes, Dapr's
# CRDs, a stand-in for Dapr's sidecar injector, and a PostgreSQL server standing in for
# the managed database. Safe to run again: a sandbox that is already up is left as it is.
#
# Usage: scripts/sandbox/up.sh [--runtime host|containerd] [--help]
#
# Environment:
#   TODO_SANDBOX_RUNTIME  containerd (default) or host, when --runtime is not given
#   TODO_SANDBOX_HOME   tool cache (default: ~/.cache/todo-sandbox)
#   TODO_SANDBOX_DIR    state, certificates, kubeconfig and logs (default: <repo>/.sandbox)
#   TODO_SANDBOX_*_PORT ports on 127.0.0.1: ETCD (23790), ETCD_PEER (23800), API (16443),
#                       KCM (20257), SCHEDULER (20259), KUBELET (20250), INJECTOR (19443),
#                       POSTGRES (25432), METRICS (20444)
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
runtime=${TODO_SANDBOX_RUNTIME:-containerd}

usage() {
  cat <<EOF
Usage: scripts/sandbox/up.sh [--runtime host|containerd] [--help]

Starts the sandbox cluster and writes its admin kubeconfig to $sandbox_kubeconfig.
Installs missing tools first. Running it again while the sandbox is up changes nothing.

  --runtime containerd  a real node: kubelet, kube-proxy, containerd and runc in a network
                        namespace, images from the sandbox's registry, CoreDNS and
                        metrics-server (the default; needs root; docs/sandbox.md)
  --runtime host        kwok and the host runtime: pods run as host processes
The default comes from TODO_SANDBOX_RUNTIME when it is set.
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
  local api_san="IP:127.0.0.1,IP:10.96.0.1,IP:$sandbox_bridge_ip,IP:$sandbox_kubernetes_service_ip"
  api_san+=",DNS:localhost,DNS:kubernetes,DNS:kubernetes.default"
  api_san+=",DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  issue_cert apiserver "/CN=kube-apiserver" "$api_san"
  issue_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  issue_cert admin "/O=system:masters/CN=todo-sandbox-admin"
  issue_cert kube-controller-manager "/CN=system:kube-controller-manager"
  issue_cert kube-scheduler "/CN=system:kube-scheduler"
  issue_cert kwok "/O=system:masters/CN=kwok-controller"
  issue_cert kubelet "/CN=system:node:$sandbox_node_name" "IP:127.0.0.1,DNS:localhost,DNS:$sandbox_node_name"
  # The real node: its client certificate puts it under the Node authorizer, its serving
  # certificate is verified by the API server, kube-proxy is bound to system:node-proxier.
  issue_cert "$sandbox_node_name" "/O=system:nodes/CN=system:node:$sandbox_node_name"
  issue_cert "$sandbox_node_name-serving" "/CN=$sandbox_node_name" "IP:$sandbox_node_ip,DNS:$sandbox_node_name"
  issue_cert kube-proxy "/CN=system:kube-proxy"
  issue_cert front-proxy-client "/CN=front-proxy-client"
  issue_cert metrics "/CN=sandbox-metrics" "IP:127.0.0.1,DNS:localhost,DNS:metrics-server.kube-system.svc"
  issue_cert dapr-injector "/CN=dapr-sidecar-injector" \
    "IP:127.0.0.1,DNS:localhost,DNS:dapr-sidecar-injector.dapr-system.svc"
  openssl genrsa -out "$sandbox_pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$sandbox_pki/sa.key" -pubout -out "$sandbox_pki/sa.pub" 2>/dev/null
  touch "$sandbox_pki/.complete"
}

# The API server listens on 127.0.0.1 with the host runtime; with a real node, on the
# sandbox bridge, which both the root namespace and the node reach.
api_address() {
  if [[ "$runtime" == containerd ]]; then echo "$sandbox_bridge_ip"; else echo 127.0.0.1; fi
}

service_cidr() {
  if [[ "$runtime" == containerd ]]; then echo "$sandbox_service_cidr"; else echo 10.96.0.0/16; fi
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
    server: https://$(api_address):$TODO_SANDBOX_API_PORT
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

# wait_for TIMEOUT COMMAND...: poll COMMAND until it succeeds or TIMEOUT seconds pass.
wait_for() {
  local timeout=$1; shift
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      return 1
    fi
    sleep 0.5
  done
}

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
  # The host runtime's node serves kwok's certificate and has no pod network for the
  # `kubernetes` Service. A real node's certificate is verified and the Service gets the API
  # server; the API server stays outside the pod network, as on most clusters' control
  # planes, and reaches webhooks and aggregated APIs at their pods' addresses (routed
  # through the node), never at a Service address.
  local node_flags=() endpoint_reconciler=none
  if [[ "$runtime" == containerd ]]; then
    node_flags=(--kubelet-certificate-authority "$sandbox_pki/ca.crt" --enable-aggregator-routing=true)
    endpoint_reconciler=lease
  fi
  start_component kube-apiserver "$(bin kubernetes kube-apiserver)" \
    --etcd-servers "http://127.0.0.1:$TODO_SANDBOX_ETCD_PORT" \
    --bind-address "$(api_address)" \
    --advertise-address "$(api_address)" \
    --secure-port "$TODO_SANDBOX_API_PORT" \
    --tls-cert-file "$sandbox_pki/apiserver.crt" \
    --tls-private-key-file "$sandbox_pki/apiserver.key" \
    --client-ca-file "$sandbox_pki/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$sandbox_pki/sa.pub" \
    --service-account-signing-key-file "$sandbox_pki/sa.key" \
    --service-cluster-ip-range "$(service_cidr)" \
    --authorization-mode Node,RBAC \
    --enable-admission-plugins NodeRestriction \
    --allow-privileged=true \
    --kubelet-client-certificate "$sandbox_pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$sandbox_pki/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types InternalIP \
    "${node_flags[@]}" \
    --requestheader-client-ca-file "$sandbox_pki/ca.crt" \
    --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User \
    --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --proxy-client-cert-file "$sandbox_pki/front-proxy-client.crt" \
    --proxy-client-key-file "$sandbox_pki/front-proxy-client.key" \
    --endpoint-reconciler-type "$endpoint_reconciler" \
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
    --service-cluster-ip-range "$(service_cidr)" \
    --enable-hostpath-provisioner=true \
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

# kwok reads its stages from one config file. Only the node's: pods belong to the host
# runtime, which runs their processes and reports their status.
write_kwok_config() {
  local stages file="$TODO_SANDBOX_DIR/kwok.yaml" stage
  stages="$(tool_dir kwok)/kustomize/stage"
  {
    for stage in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease; do
      echo "---"
      cat "$stages/$stage.yaml"
    done
  } >"$file"
}

start_kwok() {
  write_kwok_config
  start_component kwok "$(bin kwok kwok)" \
    --kubeconfig "$TODO_SANDBOX_DIR/kwok.kubeconfig" \
    --config "$TODO_SANDBOX_DIR/kwok.yaml" \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --node-ip 127.0.0.1 \
    --node-port "$TODO_SANDBOX_KUBELET_PORT" \
    --server-address "127.0.0.1:$TODO_SANDBOX_KUBELET_PORT" \
    --tls-cert-file "$sandbox_pki/kubelet.crt" \
    --tls-private-key-file "$sandbox_pki/kubelet.key" \
    --cidr 10.244.0.0/16 \
    --node-lease-duration-seconds 40 \
    --enable-crds PortForward,ClusterPortForward,Logs,ClusterLogs,Exec,ClusterExec
}

start_host_runtime() {
  start_component host-runtime node --import tsx "$script_dir/host-runtime.ts" \
    --kubeconfig "$TODO_SANDBOX_DIR/host-runtime.kubeconfig" \
    --state-dir "$TODO_SANDBOX_DIR/runtime" \
    --pids-dir "$sandbox_pids" \
    --node "$sandbox_node_name" \
    --catalogue "$sandbox_repo_root/fixtures/sandbox/images.yaml" \
    --repo "$sandbox_repo_root" \
    --tools "$TODO_SANDBOX_HOME" \
    --daprd "$(bin daprd daprd)" \
    --metrics-port "$TODO_SANDBOX_METRICS_PORT" \
    --cert "$sandbox_pki/metrics.crt" \
    --key "$sandbox_pki/metrics.key"
  if ! wait_for 30 grep -q '"host runtime ready"' "$sandbox_logs/host-runtime.log"; then
    require_alive host-runtime
    log::die "the host runtime did not start within 30 s; see $sandbox_logs/host-runtime.log"
  fi
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
  # With a real node, pods reach the database on the bridge, as they would a managed one
  # outside the cluster; their connections come from the node's address.
  local listen=127.0.0.1 database_host=127.0.0.1
  if [[ "$runtime" == containerd ]]; then
    listen="127.0.0.1,$sandbox_bridge_ip" database_host=$sandbox_bridge_ip
    grep -q "$TODO_SANDBOX_HOST_NET.0/24" "$data/pg_hba.conf" ||
      echo "host todo todo $TODO_SANDBOX_HOST_NET.0/24 scram-sha-256" >>"$data/pg_hba.conf"
  fi
  local as_user=()
  [[ $(id -u) -eq 0 ]] && as_user=(runuser -u postgres --)
  start_component postgresql "${as_user[@]}" "$(pg_bin postgres)" -D "$data" \
    -p "$TODO_SANDBOX_POSTGRES_PORT" -c listen_addresses="$listen" -k "$data" -c fsync=off
  if ! wait_for 30 "$(bin postgresql pg_isready)" -h 127.0.0.1 -p "$TODO_SANDBOX_POSTGRES_PORT"; then
    require_alive postgresql
    log::die "PostgreSQL did not accept connections within 30 s; see $sandbox_logs/postgresql.log"
  fi
  # The application's role and database; the password never leaves the sandbox directory.
  local password; password=$(<"$password_file")
  as_postgres "$(pg_bin psql)" -h "$data" -p "$TODO_SANDBOX_POSTGRES_PORT" -U postgres -q -v ON_ERROR_STOP=1 \
    -v password="$password" >/dev/null <<'SQL'
SELECT format('CREATE ROLE todo LOGIN PASSWORD %L', :'password') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'todo')\gexec
SELECT 'CREATE DATABASE todo OWNER todo' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'todo')\gexec
SQL
  echo "postgresql://todo:$password@$database_host:$TODO_SANDBOX_POSTGRES_PORT/todo?sslmode=disable" >"$TODO_SANDBOX_DIR/database-url"
  chmod 600 "$TODO_SANDBOX_DIR/database-url"
}

start_injector() {
  start_component dapr-injector node --import tsx "$script_dir/dapr-injector.ts" \
    --port "$TODO_SANDBOX_INJECTOR_PORT" \
    --cert "$sandbox_pki/dapr-injector.crt" \
    --key "$sandbox_pki/dapr-injector.key" \
    --trust-anchors "$sandbox_pki/ca.crt" \
    --dapr-version "${DAPR_VERSION#v}"
  if ! wait_for 30 curl -fsS --cacert "$sandbox_pki/ca.crt" \
      "https://127.0.0.1:$TODO_SANDBOX_INJECTOR_PORT/healthz"; then
    require_alive dapr-injector
    log::die "the Dapr injector stand-in did not answer within 30 s; see $sandbox_logs/dapr-injector.log"
  fi
}

start_registry() {
  export registry_dir="$TODO_SANDBOX_DIR/registry" registry_address=$sandbox_registry_address
  mkdir -p "$registry_dir"
  render_template "$script_dir/registry/config.yml" >"$TODO_SANDBOX_DIR/registry.yml"
  start_component registry "$(bin registry registry)" serve "$TODO_SANDBOX_DIR/registry.yml"
  if ! wait_for 30 curl -fsS "http://$sandbox_registry_address/v2/"; then
    require_alive registry
    log::die "the registry did not answer on $sandbox_registry_address within 30 s; see $sandbox_logs/registry.log"
  fi
}

# --- cluster objects ----------------------------------------------------------------------------

apply_cluster_objects() {
  log::step "applying the node, storage class, kwok and Dapr CRDs, and the injector webhook"
  local ca_bundle
  ca_bundle=$(base64 -w0 <"$sandbox_pki/ca.crt")
  local cpus memory_kib
  cpus=$(nproc)
  memory_kib=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
  # Only the CRDs of the kwok features enabled above.
  local crd crds=()
  for crd in portforwards clusterportforwards logs clusterlogs execs clusterexecs; do
    crds+=(-f "$(tool_dir kwok)/kustomize/crd/bases/kwok.x-k8s.io_$crd.yaml")
  done
  sandbox_kubectl apply --server-side --force-conflicts "${crds[@]}" >/dev/null
  sandbox_kubectl apply --server-side --force-conflicts -f "$(tool_dir daprd)/crds" >/dev/null
  # Custom resources can be stored only once their CRDs are established.
  sandbox_kubectl wait --for condition=established --timeout=60s crd --all >/dev/null ||
    log::die "the kwok and Dapr CRDs were not established within 60 s; see $sandbox_logs/kube-apiserver.log"
  sandbox_kubectl apply --server-side --force-conflicts -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $sandbox_node_name
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: $sandbox_node_name
    kubernetes.io/os: linux
    node-role.kubernetes.io/sandbox: ""
    topology.kubernetes.io/zone: sandbox
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
volumeBindingMode: Immediate
---
apiVersion: v1
kind: Namespace
metadata:
  name: dapr-system
---
# metrics.k8s.io, served by the host runtime from the pods' real processes. The API
# server's aggregator reaches it through this ExternalName Service on 127.0.0.1.
apiVersion: v1
kind: Service
metadata:
  name: metrics-server
  namespace: kube-system
spec:
  type: ExternalName
  externalName: 127.0.0.1
  ports:
  - name: https
    port: $TODO_SANDBOX_METRICS_PORT
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1beta1.metrics.k8s.io
spec:
  group: metrics.k8s.io
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  caBundle: $ca_bundle
  service:
    name: metrics-server
    namespace: kube-system
    port: $TODO_SANDBOX_METRICS_PORT
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: dapr-sidecar-injector
  labels:
    app.kubernetes.io/part-of: todo-sandbox
webhooks:
- name: sidecar-injector.dapr.io
  admissionReviewVersions: ["v1"]
  sideEffects: None
  # Dapr's own injector is registered with failurePolicy Ignore, so a missing injector
  # shows up as pods without sidecars, not as pods that cannot be created.
  failurePolicy: Ignore
  reinvocationPolicy: IfNeeded
  timeoutSeconds: 10
  clientConfig:
    url: https://127.0.0.1:$TODO_SANDBOX_INJECTOR_PORT/mutate
    caBundle: $ca_bundle
  namespaceSelector:
    matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values: [kube-system, dapr-system]
  rules:
  - apiGroups: [""]
    apiVersions: ["v1"]
    operations: ["CREATE"]
    resources: ["pods"]
EOF
  # The node's capacity is this machine's, so scheduling sees the same limits it would.
  sandbox_kubectl patch node "$sandbox_node_name" --subresource=status --type=merge \
    -p "{\"status\":{\"capacity\":{\"cpu\":\"$cpus\",\"memory\":\"${memory_kib}Ki\",\"pods\":\"110\"},\"allocatable\":{\"cpu\":\"$cpus\",\"memory\":\"${memory_kib}Ki\",\"pods\":\"110\"}}}" >/dev/null
}

# The default StorageClass of the real node: local volumes, made ahead on the node as a
# static provisioner would (a volume's capacity is not enforced). Unlike host-path volumes,
# the kubelet applies a pod's fsGroup to them, as to a cloud disk, so a non-root workload
# can write its claim. A released volume keeps its data (Retain) and is not bound again.
readonly node_volumes=8 node_volume_size=64Gi

apply_node_cluster_objects() {
  local index volumes
  volumes="$(node_dir)/volumes"
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
    for ((index = 0; index < node_volumes; index++)); do
      mkdir -p "$volumes/volume-$index"
      cat <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $sandbox_node_name-volume-$index
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
        - {key: kubernetes.io/hostname, operator: In, values: [$sandbox_node_name]}
EOF
    done
  } | sandbox_kubectl apply --server-side --force-conflicts -f - >/dev/null
}

start_node() {
  node::write_config
  node::start_containerd
  node::start_kubelet
  node::start_kube_proxy
  local deadline=$((SECONDS + node_ready_timeout))
  until sandbox_kubectl wait --for=condition=Ready "node/$sandbox_node_name" --timeout=1s >/dev/null 2>&1; do
    require_alive containerd
    require_alive kubelet
    ((SECONDS < deadline)) ||
      log::die "node $sandbox_node_name was not Ready within ${node_ready_timeout}s; see $sandbox_logs/kubelet.log"
    sleep 0.5
  done
  # The API server (admission webhooks, aggregated APIs) reaches the node's pods through the
  # node, as a control plane reaches the pod network on a cluster.
  ip route replace "$sandbox_node_pod_cidr" via "$sandbox_node_ip" dev "$sandbox_bridge"
  sandbox_kubectl label --overwrite "node/$sandbox_node_name" node-role.kubernetes.io/sandbox= >/dev/null
}

wait_for_node() {
  if ! wait_for "$node_ready_timeout" \
      sandbox_kubectl wait --for=condition=Ready "node/$sandbox_node_name" --timeout=5s; then
    require_alive kwok
    log::die "node $sandbox_node_name was not Ready within ${node_ready_timeout}s; see $sandbox_logs/kwok.log"
  fi
  # Namespaces get their `default` ServiceAccount from the controller manager; wait for it
  # so that the first pod a user creates is not refused.
  wait_for 30 sandbox_kubectl -n default get serviceaccount default ||
    log::die "the controller manager created no default ServiceAccount within 30 s; see $sandbox_logs/kube-controller-manager.log"
}

# --- driver -------------------------------------------------------------------------------

# state_of_sandbox: "up" when every component runs, "down" when none has state, else
# "stale" (a crash or a kill left some of it behind).
state_of_sandbox() {
  local running=0 recorded=0 name
  for name in "${sandbox_components[@]}"; do
    [[ -f "$sandbox_pids/$name.pid" ]] && recorded=$((recorded + 1))
    component_pid "$name" >/dev/null && running=$((running + 1))
  done
  if ((running == ${#sandbox_components[@]})); then
    echo up
  elif ((recorded == 0 && running == 0)) && [[ ! -d "$TODO_SANDBOX_DIR/etcd" ]]; then
    echo down
  else
    echo stale
  fi
}

check_ports_free() {
  local name port
  for name in "${sandbox_components[@]}"; do
    # With a real node these listen on the sandbox bridge's address, which is new.
    [[ "$runtime" == containerd && ( "$name" == kube-apiserver || "$name" == registry ) ]] && continue
    port=$(component_port "$name")
    if [[ -n "$port" ]] && port_in_use "$port"; then
      log::die "port $port on 127.0.0.1 (for $name) is already in use by another program; stop it or set $(component_port_variable "$name") to a free port" 4
    fi
  done
  if port_in_use "$TODO_SANDBOX_ETCD_PEER_PORT"; then
    log::die "port $TODO_SANDBOX_ETCD_PEER_PORT on 127.0.0.1 (for etcd peers) is already in use; stop that program or set TODO_SANDBOX_ETCD_PEER_PORT to a free port" 4
  fi
}


main() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --runtime)
        [[ $# -ge 2 && ( "$2" == host || "$2" == containerd ) ]] ||
          log::die "--runtime takes 'host' or 'containerd'" 2
        runtime=$2; shift 2 ;;
      -h|--help) usage; return ;;
      *) log::die "unknown argument '$1' (see --help)" 2 ;;
    esac
  done
  [[ "$runtime" == host || "$runtime" == containerd ]] ||
    log::die "TODO_SANDBOX_RUNTIME takes 'host' or 'containerd', not '$runtime'" 2
  if [[ -d "$TODO_SANDBOX_DIR/pids" ]]; then
    runtime=$(sandbox_runtime)
  fi
  if [[ "$runtime" == containerd ]]; then
    sandbox_components=("${containerd_runtime_components[@]}")
  fi

  case "$(state_of_sandbox)" in
    up)
      log::info "the sandbox is already up; kubeconfig: $sandbox_kubeconfig"
      return ;;
    stale)
      log::die "$TODO_SANDBOX_DIR holds a sandbox that is partly stopped (a crash or a kill?); run 'npm run sandbox:down' to clear it, then 'npm run sandbox:up'" 5 ;;
  esac

  if [[ "$runtime" == containerd ]]; then
    up_with_node
  else
    up_with_host_runtime
  fi
}

up_with_host_runtime() {
  local started=$SECONDS
  log::step "checking tools"
  bash "$script_dir/install-tools.sh" --only postgresql,kafka,kubernetes,kwok,daprd,helm
  npm::ensure_dependencies "$sandbox_repo_root" "the project"
  check_ports_free

  mkdir -p "$TODO_SANDBOX_DIR" "$sandbox_logs"
  make_pki
  write_kubeconfig "$sandbox_kubeconfig" admin "$sandbox_context"
  write_kubeconfig "$TODO_SANDBOX_DIR/kube-controller-manager.kubeconfig" kube-controller-manager kube-controller-manager
  write_kubeconfig "$TODO_SANDBOX_DIR/kube-scheduler.kubeconfig" kube-scheduler kube-scheduler
  write_kubeconfig "$TODO_SANDBOX_DIR/kwok.kubeconfig" kwok kwok
  write_kubeconfig "$TODO_SANDBOX_DIR/host-runtime.kubeconfig" kwok host-runtime

  log::step "starting PostgreSQL on 127.0.0.1:$TODO_SANDBOX_POSTGRES_PORT"
  start_postgresql

  log::step "starting etcd on 127.0.0.1:$TODO_SANDBOX_ETCD_PORT"
  start_etcd
  log::step "starting kube-apiserver on https://127.0.0.1:$TODO_SANDBOX_API_PORT"
  start_apiserver
  log::info "API healthy after $((SECONDS - started)) s"
  log::step "starting kube-controller-manager, kube-scheduler and the Dapr injector stand-in"
  start_controller_manager
  start_scheduler
  start_injector
  apply_cluster_objects
  log::step "starting kwok (node $sandbox_node_name, kubelet API on 127.0.0.1:$TODO_SANDBOX_KUBELET_PORT)"
  start_kwok
  wait_for_node
  log::step "starting the host runtime (runs each pod's containers as host processes)"
  start_host_runtime
  local name
  for name in "${sandbox_components[@]}"; do require_alive "$name"; done
  log::info "sandbox up in $((SECONDS - started)) s"
  log::info "use it with: export KUBECONFIG=$sandbox_kubeconfig"
}

# A real node: containerd, the kubelet and kube-proxy in a network namespace of their own,
# pulling from the sandbox's registry; the control plane, the registry and PostgreSQL on
# the root namespace's side of the sandbox bridge.
up_with_node() {
  local started=$SECONDS
  [[ $(id -u) -eq 0 ]] ||
    log::die "a sandbox with a real node needs root (network namespaces, cgroups, mounts); run it as root, or use --runtime host" 3
  if ip link show "$sandbox_bridge" >/dev/null 2>&1; then
    log::die "network link $sandbox_bridge already exists (another sandbox with TODO_SANDBOX_LINK_PREFIX=$TODO_SANDBOX_LINK_PREFIX, or one that crashed); run 'npm run sandbox:down' or set TODO_SANDBOX_LINK_PREFIX" 4
  fi
  log::step "checking tools"
  bash "$script_dir/install-tools.sh" \
    --only postgresql,kubernetes,helm,node-runtime,image-builder,kubernetes-node,coredns,metrics-server,registry
  npm::ensure_dependencies "$sandbox_repo_root" "the project"
  check_ports_free
  started=$SECONDS

  mkdir -p "$TODO_SANDBOX_DIR" "$sandbox_logs"
  echo containerd >"$TODO_SANDBOX_DIR/runtime"
  make_pki
  write_kubeconfig "$sandbox_kubeconfig" admin "$sandbox_context"
  write_kubeconfig "$TODO_SANDBOX_DIR/kube-controller-manager.kubeconfig" kube-controller-manager kube-controller-manager
  write_kubeconfig "$TODO_SANDBOX_DIR/kube-scheduler.kubeconfig" kube-scheduler kube-scheduler
  write_kubeconfig "$TODO_SANDBOX_DIR/kubelet.kubeconfig" "$sandbox_node_name" kubelet
  write_kubeconfig "$TODO_SANDBOX_DIR/kube-proxy.kubeconfig" kube-proxy kube-proxy

  log::step "network: bridge $sandbox_bridge ($sandbox_bridge_ip), node namespace $sandbox_netns ($sandbox_node_ip)"
  node::network_up
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
  log::step "building the node's images (pause, CoreDNS, metrics-server) and pushing them"
  addons::push_node_images
  log::step "starting the node: containerd, kubelet, kube-proxy"
  start_node
  log::info "node $sandbox_node_name Ready after $((SECONDS - started)) s"
  wait_for 30 sandbox_kubectl -n default get serviceaccount default ||
    log::die "the controller manager created no default ServiceAccount within 30 s; see $sandbox_logs/kube-controller-manager.log"
  log::step "add-ons: CoreDNS, metrics-server"
  addons::install
  addons::wait
  local name
  for name in "${sandbox_components[@]}"; do require_alive "$name"; done
  log::info "sandbox up in $((SECONDS - started)) s"
  log::info "use it with: export KUBECONFIG=$sandbox_kubeconfig"
}

main "$@"
