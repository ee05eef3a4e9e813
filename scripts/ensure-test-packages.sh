#!/usr/bin/env bash
# The Debian packages the test suite drives, in one place: chromium (the dashboard in a real browser,
# test/ui-browser.test.ts), etcd and h2load (the benchmark's peers, test/bench-peers.test.ts), python3-grpcio (gRPC
# C-core as a second xDS client, test/xds-ccore-interop.test.ts). Run before `npm test` (its pretest) and by
# .ci/run: installs what is missing with apt-get when it can (root), else names the packages and fails, so that a
# machine without them is told how to get them instead of failing later inside a test.
set -euo pipefail

missing=()
have() { [ -n "${1:-}" ] && [ -x "$1" ] || command -v "$2" >/dev/null 2>&1; }
have "${CHROMIUM_PATH:-}" chromium || missing+=(chromium)
have "${BENCH_ETCD:-}" etcd || missing+=(etcd-server)
have "${BENCH_H2LOAD:-}" h2load || missing+=(nghttp2-client)
# Debian's interpreter, whose dist-packages python3-grpcio installs into (another python3 on PATH may not see them).
"${ENDPOINTD_CCORE_PYTHON:-/usr/bin/python3}" -c 'import grpc' >/dev/null 2>&1 || missing+=(python3-grpcio)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "--- installing the Debian packages the tests drive: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "The tests need these Debian packages: ${missing[*]}" >&2
echo "Install them with: sudo apt-get install ${missing[*]}" >&2
exit 1
