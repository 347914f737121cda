#!/usr/bin/env bash
# Installs what distcache's tests and benchmarks need on a fresh Debian machine: Deno 2.8.3 from npm and
# the Debian packages of the services the tests start (etcd, MariaDB, promtool, Python gRPC, Chromium for
# the status page test, wrk and redis for the benchmarks, iproute2 for hosts in network namespaces, kubectl
# to render deploy/k8s).
# Installs only what is missing; safe to run again.
set -euo pipefail

DENO_VERSION=2.8.3
if ! deno --version 2>/dev/null | head -n 1 | grep -qx "deno ${DENO_VERSION} .*"; then
  echo "setup: installing deno ${DENO_VERSION} from npm"
  npm install -g "deno@${DENO_VERSION}"
fi

missing=()
command -v etcd >/dev/null || missing+=(etcd-server)
command -v etcdctl >/dev/null || missing+=(etcd-client)
[ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null || missing+=(mariadb-server)
command -v promtool >/dev/null || missing+=(prometheus)
command -v wrk >/dev/null || missing+=(wrk)
command -v redis-server >/dev/null || missing+=(redis-server)
# Hosts in network namespaces (netns tests, deno task cluster --hosts) and the Kubernetes manifests' test.
command -v ip >/dev/null || missing+=(iproute2)
command -v kubectl >/dev/null || missing+=(kubernetes-client)
[ -x /usr/bin/chromium ] || missing+=(chromium)
/usr/bin/python3 -c "import grpc" 2>/dev/null || missing+=(python3-grpcio)
/usr/bin/python3 -c "import grpc_tools" 2>/dev/null || missing+=(python3-grpc-tools)
/usr/bin/python3 -c "import google.protobuf" 2>/dev/null || missing+=(python3-protobuf)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
deno --version | head -n 1
