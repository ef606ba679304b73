#!/usr/bin/env bash
# Builds or installs the sandbox's tools, at the versions pinned in versions.env, into a
# cache outside the repository. A tool already in the cache is not touched again.
#
# Usage: scripts/sandbox/install-tools.sh [--only NAME[,NAME...]] [--except NAME[,NAME...]]
#          [--list] [--help]
#
# Environment:
#   TODO_SANDBOX_HOME  cache and state root (default: ~/.cache/todo-sandbox)
#   CI, NO_COLOR       plain output without colour
set -o errexit -o nounset -o pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/log.sh
source "$script_dir/../lib/log.sh"
# shellcheck source=scripts/sandbox/versions.env
source "$script_dir/versions.env"
# shellcheck source=scripts/sandbox/tools.sh
source "$script_dir/tools.sh"

readonly all_tools=("${sandbox_tools[@]}")

usage() {
  cat <<EOF
Usage: scripts/sandbox/install-tools.sh [--only NAME[,NAME...]] [--except NAME[,NAME...]]
         [--list] [--help]

Builds or installs the sandbox's tools into \$TODO_SANDBOX_HOME/tools
(now: $TODO_SANDBOX_HOME/tools), at the versions pinned in scripts/sandbox/versions.env.
Tools already there are skipped; a second run does nothing.

  --only NAMES    install only these tools (comma separated)
  --except NAMES  install every tool but these
  --list          print each tool, its version and whether it is installed
  --help          this text

Tools: ${all_tools[*]}
EOF
}

# --- running build steps -------------------------------------------------------------

current_tool=''
current_log=''

# step CMD...: run one build command, its output into the tool's log. On failure, say
# which tool and which command failed, show the end of the log, and stop.
step() {
  if ! "$@" >>"$current_log" 2>&1; then
    log::error "installing $current_tool failed: $*"
    log::error "log: $current_log (last 25 lines follow)"
    tail -n 25 "$current_log" >&2
    exit 1
  fi
}

apt_updated=''
apt_install() {
  if [[ -z "$apt_updated" ]]; then
    step apt-get update
    apt_updated=1
  fi
  step env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

# apt_install_missing PACKAGE...: install those not installed yet. Post-install scripts must
# not start the daemons the sandbox runs itself, so a policy-rc.d refuses while it runs.
apt_install_missing() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  ((${#missing[@]} > 0)) || return 0
  if [[ $(id -u) -ne 0 ]]; then
    log::error "installing $current_tool needs Debian packages: ${missing[*]}; install them with: sudo apt-get install ${missing[*]}"
    exit 3
  fi
  local policy=/usr/sbin/policy-rc.d made_policy=''
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; made_policy=1
  fi
  apt_install "${missing[@]}"
  [[ -z "$made_policy" ]] || rm -f "$policy"
}

go_ldflags_base='-s -w'

# --- one function per tool; each fills $dest (an empty staging directory) ---------------

build_helm() {
  step env GOBIN="$dest/bin" go install -trimpath \
    -ldflags "$go_ldflags_base -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
}

build_helm4() {
  step env GOBIN="$dest/bin" go install -trimpath \
    -ldflags "$go_ldflags_base -X helm.sh/helm/v4/internal/version.version=$HELM4_VERSION" \
    "helm.sh/helm/v4/cmd/helm@$HELM4_VERSION"
  step mv "$dest/bin/helm" "$dest/bin/helm4"
}

# k8s.io/kubernetes replaces every k8s.io/* staging module with a local path, so it cannot
# be built with `go install`. A wrapper module requires it and points each staging module
# at its published v0.Y.Z release instead; the list comes from the tag's own go.mod.
# metrics-server is required by the same module: built against the same k8s.io libraries,
# with cgo off like the Kubernetes binaries, it reuses their compiled packages from the Go
# build cache (about 10 s instead of 4 minutes on 2 cores).
# kubernetes_wrapper_module DIR: write that module into DIR.
kubernetes_wrapper_module() {
  local work=$1
  local staging_version="v0.${KUBERNETES_VERSION#v1.}"
  rm -rf "$work"; mkdir -p "$work"
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | json_field GoMod)
  [[ -f "$gomod" ]] || { log::error "cannot find go.mod of k8s.io/kubernetes@$KUBERNETES_VERSION"; exit 1; }
  {
    echo "module todo-sandbox/kubernetes-build"
    echo
    echo "go 1.24.0"
    echo
    echo "require ("
    echo "	k8s.io/kubernetes $KUBERNETES_VERSION"
    echo "	go.etcd.io/etcd/server/v3 $ETCD_VERSION"
    echo "	sigs.k8s.io/metrics-server $METRICS_SERVER_VERSION"
    echo ")"
    echo
    go mod edit -json "$gomod" | python3 -c '
import json, sys
mod = json.load(sys.stdin)
for r in mod.get("Replace") or []:
    if r["New"]["Path"].startswith("./staging/"):
        print("replace %s => %s %s" % (r["Old"]["Path"], r["Old"]["Path"], sys.argv[1]))
' "$staging_version"
  } >"$work/go.mod"
  step bash -c "cd '$work' && go mod download k8s.io/kubernetes go.etcd.io/etcd/server/v3 sigs.k8s.io/metrics-server"
}

# kubernetes_build WORK ARGS...: go build in the wrapper module, static like the released
# binaries (and so that every tool of the family shares its compiled packages).
kubernetes_build() {
  local work=$1; shift
  step bash -c "cd '$work' && CGO_ENABLED=0 go build -mod=mod -trimpath $*"
}

kubernetes_ldflags() {
  local minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}"
  local flags="$go_ldflags_base"
  flags+=" -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION"
  flags+=" -X k8s.io/component-base/version.gitMajor=1"
  flags+=" -X k8s.io/component-base/version.gitMinor=$minor"
  flags+=" -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION"
  flags+=" -X k8s.io/client-go/pkg/version.gitMajor=1"
  flags+=" -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  flags+=" -X k8s.io/component-base/version.gitTreeState=clean"
  echo "$flags"
}

build_kubernetes() {
  local work="$TODO_SANDBOX_HOME/build/kubernetes-$KUBERNETES_VERSION"
  kubernetes_wrapper_module "$work"
  # `-mod=mod` lets the go command fill in go.sum and the indirect requirements.
  kubernetes_build "$work" "-ldflags '$(kubernetes_ldflags)' -o '$dest/bin/'" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubectl
  kubernetes_build "$work" "-ldflags '$go_ldflags_base' -o '$dest/bin/etcd'" go.etcd.io/etcd/server/v3
  rm -rf "$work"
}

# The node's kubelet and kube-proxy, from the same wrapper module as the control plane (the
# Go build cache makes this quick once the control plane is built), and the pause program
# of the node's pause image, compiled from the same module's pause.c.
build_kubernetes_node() {
  local work="$TODO_SANDBOX_HOME/build/kubernetes-node-$KUBERNETES_VERSION"
  kubernetes_wrapper_module "$work"
  kubernetes_build "$work" "-ldflags '$(kubernetes_ldflags)' -o '$dest/bin/'" \
    k8s.io/kubernetes/cmd/kubelet \
    k8s.io/kubernetes/cmd/kube-proxy
  local module_dir
  module_dir=$(go_module_dir "k8s.io/kubernetes@$KUBERNETES_VERSION")
  step mkdir -p "$dest/pause"
  step gcc -Os -Wall -Werror -static "-DVERSION=$PAUSE_VERSION" -o "$dest/pause/pause" \
    "$module_dir/build/pause/linux/pause.c"
  step strip "$dest/pause/pause"
  rm -rf "$work"
}

# CoreDNS with only the plugins a cluster DNS needs. Its stock main links every plugin,
# cloud SDKs included; without `forward`, a name outside the cluster never leaves it.
build_coredns() {
  local work="$TODO_SANDBOX_HOME/build/coredns-$COREDNS_VERSION"
  rm -rf "$work"; mkdir -p "$work"
  printf 'module todo-sandbox/coredns\n\ngo 1.25.0\n\nrequire github.com/coredns/coredns %s\n' \
    "$COREDNS_VERSION" >"$work/go.mod"
  {
    echo 'package main'
    echo
    echo 'import ('
    echo '	"github.com/coredns/coredns/core/dnsserver"'
    local plugin
    for plugin in $COREDNS_PLUGINS; do
      echo "	_ \"github.com/coredns/coredns/plugin/$plugin\""
    done
    echo '	"github.com/coredns/coredns/coremain"'
    echo ')'
    echo
    echo 'func init() {'
    echo "	dnsserver.Directives = []string{\"${COREDNS_PLUGINS// /\", \"}\"}"
    echo '}'
    echo
    echo 'func main() { coremain.Run() }'
  } >"$work/main.go"
  step bash -c "cd '$work' && CGO_ENABLED=0 go build -mod=mod -trimpath -ldflags '$go_ldflags_base' -o '$dest/bin/coredns' ."
  rm -rf "$work"
}

build_metrics_server() {
  local work="$TODO_SANDBOX_HOME/build/metrics-server-$METRICS_SERVER_VERSION"
  kubernetes_wrapper_module "$work"
  kubernetes_build "$work" "-ldflags '$go_ldflags_base' -o '$dest/bin/'" sigs.k8s.io/metrics-server/cmd/metrics-server
  rm -rf "$work"
}

# The registry with the filesystem storage driver only: its stock main links the Azure, GCS
# and S3 SDKs, which the sandbox never uses and which take most of the build.
build_registry() {
  local work="$TODO_SANDBOX_HOME/build/registry-$REGISTRY_VERSION"
  rm -rf "$work"; mkdir -p "$work"
  printf 'module todo-sandbox/registry\n\ngo 1.26.0\n\nrequire github.com/distribution/distribution/v3 %s\n' \
    "$REGISTRY_VERSION" >"$work/go.mod"
  cat >"$work/main.go" <<'EOF'
package main

import (
	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
)

func main() {
	// Execute reports its own errors and exits non-zero on them.
	_ = registry.RootCmd.Execute()
}
EOF
  step bash -c "cd '$work' && CGO_ENABLED=0 go build -mod=mod -trimpath -ldflags '$go_ldflags_base' -o '$dest/bin/registry' ."
  rm -rf "$work"
}

# A module with replace directives is built from a writable copy of itself: `go install`
# refuses it, and a module that requires it ignores its replacements.
# go_module_copy MODULE@VERSION DIR: that copy.
go_module_copy() {
  local work=$2 module_dir
  module_dir=$(go_module_dir "$1")
  rm -rf "$work"; mkdir -p "$(dirname "$work")"
  step cp -r "$module_dir" "$work"
  step chmod -R u+w "$work"
}

dapr_module_copy() { go_module_copy "github.com/dapr/dapr@$DAPR_VERSION" "$1"; }

dapr_ldflags() {
  echo "$go_ldflags_base -X github.com/dapr/dapr/pkg/buildinfo.version=${DAPR_VERSION#v} -X github.com/dapr/dapr/pkg/buildinfo.gitversion=$DAPR_VERSION"
}

# daprd with only the components the stack uses, which cuts the build by far.
build_daprd() {
  local work="$TODO_SANDBOX_HOME/build/dapr-$DAPR_VERSION"
  dapr_module_copy "$work"
  local file kept=0
  for file in "$work"/cmd/daprd/components/*.go; do
    local base; base=$(basename "$file" .go)
    if [[ " $DAPRD_COMPONENTS " == *" $base "* ]]; then
      kept=$((kept + 1))
    else
      rm -f "$file"
    fi
  done
  local wanted
  read -r -a wanted <<<"$DAPRD_COMPONENTS"
  if ((kept != ${#wanted[@]})); then
    log::error "installing $current_tool failed: of the components '$DAPRD_COMPONENTS', only $kept exist in cmd/daprd/components"
    exit 1
  fi
  step bash -c "cd '$work' && CGO_ENABLED=0 go build -trimpath -tags stablecomponents \
    -ldflags '$(dapr_ldflags)' -o '$dest/bin/daprd' ./cmd/daprd"
  # Dapr's CRDs, for the sandbox's API server.
  step mkdir -p "$dest/crds"
  step cp "$work"/charts/dapr/crds/*.yaml "$dest/crds/"
  rm -rf "$work"
}

# Dapr's control plane, and its Helm chart from the same module, so that the chart and the
# images it runs are of one version.
build_dapr_control_plane() {
  local work="$TODO_SANDBOX_HOME/build/dapr-control-plane-$DAPR_VERSION"
  dapr_module_copy "$work"
  step mkdir -p "$dest/bin"
  local commands=() name
  for name in $DAPR_CONTROL_PLANE; do commands+=("./cmd/$name"); done
  step bash -c "cd '$work' && CGO_ENABLED=0 go build -trimpath -ldflags '$(dapr_ldflags)' -o '$dest/bin/' ${commands[*]}"
  step cp -r "$work/charts/dapr" "$dest/chart"
  rm -rf "$work"
}

build_kafka() {
  local work="$TODO_SANDBOX_HOME/build/kafka-$KAFKA_VERSION"
  rm -rf "$work"; mkdir -p "$work"
  cat >"$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>todo-sandbox</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_$KAFKA_SCALA_VERSION</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <!-- Kafka's POM brings no logging backend. -->
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>$LOG4J_SLF4J_BINDING</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
  step mvn -B -q -f "$work/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$dest/libs"
  cat >"$dest/log4j2.yaml" <<'EOF'
Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.request.logger
        level: WARN
      - name: org.apache.kafka.clients
        level: WARN
EOF
  rm -rf "$work"
}

# From Debian: the installed server is used where it has the pinned major version.
build_postgresql() {
  if [[ ! -x "/usr/lib/postgresql/$POSTGRESQL_MAJOR/bin/postgres" ]]; then
    apt_install "postgresql-$POSTGRESQL_MAJOR"
  fi
  step mkdir -p "$dest/bin"
  local program
  for program in postgres initdb pg_ctl pg_isready psql; do
    local source_path="/usr/lib/postgresql/$POSTGRESQL_MAJOR/bin/$program"
    [[ -x "$source_path" ]] || source_path=$(command -v "$program")
    step ln -sf "$source_path" "$dest/bin/$program"
  done
}

# The node's container runtime and network tools, from Debian. crun is not used: it refuses
# hosts whose cgroups are in hybrid mode.
build_node_runtime() {
  apt_install_missing containerd runc containernetworking-plugins iptables conntrack iproute2 util-linux
  step mkdir -p "$dest/bin"
  local program
  for program in containerd containerd-shim-runc-v2 ctr runc iptables iptables-save conntrack nsenter; do
    step ln -sf "$(PATH=/usr/sbin:/sbin:$PATH command -v "$program")" "$dest/bin/$program"
  done
  step ln -sf /usr/lib/cni "$dest/cni"
}

# A Dockerfile builder, and the tool that makes the Debian root filesystem of base images.
build_image_builder() {
  apt_install_missing buildah mmdebstrap
  step mkdir -p "$dest/bin"
  local program
  for program in buildah mmdebstrap; do
    step ln -sf "$(command -v "$program")" "$dest/bin/$program"
  done
}

build_chromium() {
  [[ -x /usr/bin/chromium ]] || apt_install chromium
  step mkdir -p "$dest/bin"
  step ln -sf /usr/bin/chromium "$dest/bin/chromium"
}

# kube-router runs on each node for its network policy firewall only; it programs the
# policies through these programs, looked up on PATH.
build_kube_router() {
  apt_install_missing ipset iptables
  step env GOBIN="$dest/bin" CGO_ENABLED=0 go install -trimpath \
    -ldflags "$go_ldflags_base -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION" \
    "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
  local program
  for program in ipset iptables-restore; do
    step ln -sf "$(PATH=/usr/sbin:/sbin:$PATH command -v "$program")" "$dest/bin/$program"
  done
  step "$dest/bin/kube-router" --version
}

# MetalLB's controller and speaker, from a module that requires MetalLB with the frr-k8s
# release that replaces the one MetalLB asks for (see versions.env).
build_metallb() {
  local work="$TODO_SANDBOX_HOME/build/metallb-$METALLB_VERSION"
  rm -rf "$work"; mkdir -p "$work"
  printf 'module todo-sandbox/metallb\n\ngo 1.24.0\n\nrequire (\n\tgo.universe.tf/metallb %s\n\tgithub.com/metallb/frr-k8s %s\n)\n' \
    "$METALLB_VERSION" "$METALLB_FRR_K8S_VERSION" >"$work/go.mod"
  local ldflags="$go_ldflags_base -X go.universe.tf/metallb/internal/version.version=${METALLB_VERSION#v}"
  local name
  for name in controller speaker; do
    step bash -c "cd '$work' && CGO_ENABLED=0 go build -mod=mod -trimpath -ldflags '$ldflags' \
      -o '$dest/bin/metallb-$name' go.universe.tf/metallb/$name"
  done
  rm -rf "$work"
}

# Traefik's ACME provider links every lego DNS provider, and their cloud SDKs: about a
# third of the build. The sandbox gets no certificates from ACME, so the lookup of a DNS
# challenge provider by name is replaced by one that finds none.
build_traefik() {
  local work="$TODO_SANDBOX_HOME/build/traefik-$TRAEFIK_VERSION"
  go_module_copy "github.com/traefik/traefik/v3@$TRAEFIK_VERSION" "$work"
  local acme="$work/pkg/provider/acme"
  step sed -i -e '\|"github.com/go-acme/lego/v4/providers/dns"$|d' \
    -e 's/dns\.NewDNSChallengeProviderByName(/noDNSChallengeProvider(/' "$acme/provider.go"
  # Unpatched, it would still build, only slower.
  if ! grep -q 'noDNSChallengeProvider(' "$acme/provider.go"; then
    log::error "installing $current_tool failed: no dns.NewDNSChallengeProviderByName call in pkg/provider/acme/provider.go to replace"
    exit 1
  fi
  cat >"$acme/no_dns_providers.go" <<'EOF'
package acme

import (
	"fmt"

	"github.com/go-acme/lego/v4/challenge"
)

func noDNSChallengeProvider(name string) (challenge.Provider, error) {
	return nil, fmt.Errorf("DNS challenge provider %q: this build of Traefik has none", name)
}
EOF
  step bash -c "cd '$work' && CGO_ENABLED=0 go build -trimpath \
    -ldflags '$go_ldflags_base -X github.com/traefik/traefik/v3/pkg/version.Version=${TRAEFIK_VERSION#v}' \
    -o '$dest/bin/traefik' ./cmd/traefik"
  step "$dest/bin/traefik" version
  rm -rf "$work"
}

# --- driver ------------------------------------------------------------------------------

install_tool() {
  local tool=$1
  local version; version=$(tool_version "$tool")
  local final; final=$(tool_dir "$tool")
  if [[ -f "$final/.installed" ]]; then
    log::info "$tool $version: already installed"
    return
  fi
  current_tool="$tool $version"
  current_log="$TODO_SANDBOX_HOME/logs/install-$tool.log"
  mkdir -p "$(dirname "$current_log")" "$TODO_SANDBOX_HOME/tools"
  : >"$current_log"
  dest="$final.partial"
  rm -rf "$dest"; mkdir -p "$dest"
  log::step "installing $tool $version (log: $current_log)"
  local started=$SECONDS
  "build_${tool//-/_}"
  date -u +%Y-%m-%dT%H:%M:%SZ >"$dest/.installed"
  rm -rf "$final"; mv "$dest" "$final"
  link_tool_bins
  log::info "$tool $version: installed in $((SECONDS - started)) s"
}

list_tools() {
  local tool
  for tool in "${all_tools[@]}"; do
    local state=missing
    [[ -f "$(tool_dir "$tool")/.installed" ]] && state=installed
    printf '%-12s %-10s %s\n' "$tool" "$(tool_version "$tool")" "$state"
  done
}

# known_tools NAME...: stop with exit 2 on a name that is not a tool.
known_tools() {
  local tool
  for tool in "$@"; do
    [[ " ${all_tools[*]} " == *" $tool "* ]] || log::die "unknown tool '$tool'; known: ${all_tools[*]}" 2
  done
}

main() {
  local only='' except=''
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --only) [[ $# -ge 2 ]] || log::die "--only needs a list of tools, e.g. --only helm,kubernetes" 2
              only=$2; shift 2 ;;
      --except) [[ $# -ge 2 ]] || log::die "--except needs a list of tools, e.g. --except helm4" 2
              except=$2; shift 2 ;;
      --list) list_tools; return ;;
      -h|--help) usage; return ;;
      *) log::die "unknown argument '$1' (see --help)" 2 ;;
    esac
  done

  local tools=("${all_tools[@]}") tool
  if [[ -n "$only" ]]; then
    IFS=, read -r -a tools <<<"$only"
    known_tools "${tools[@]}"
  fi
  if [[ -n "$except" ]]; then
    local left_out kept=()
    IFS=, read -r -a left_out <<<"$except"
    known_tools "${left_out[@]}"
    for tool in "${tools[@]}"; do
      [[ ",$except," == *",$tool,"* ]] || kept+=("$tool")
    done
    tools=("${kept[@]}")
  fi

  command -v go >/dev/null || log::die "go is not on PATH; install Go 1.24 or newer first" 1
  mkdir -p "$TODO_SANDBOX_HOME"
  # One installer at a time per cache: a second one waits instead of building twice.
  exec 9>"$TODO_SANDBOX_HOME/install.lock"
  if ! flock -n 9; then
    log::info "another install is running in $TODO_SANDBOX_HOME; waiting for it"
    flock 9
  fi

  local started=$SECONDS
  for tool in "${tools[@]}"; do
    install_tool "$tool"
  done
  link_tool_bins
  log::info "tools ready in $((SECONDS - started)) s: $TODO_SANDBOX_HOME/bin"
}

main "$@"
