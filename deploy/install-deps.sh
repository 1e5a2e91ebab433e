#!/bin/sh
# Installs the Debian 12 (bookworm) packages workhealth needs, and only those
# that are missing. When everything is present it touches nothing, needs no
# network and no root, and returns at once; that is what makes
# `deploy/install-deps.sh && make test` cheap to repeat.
#
# usage: deploy/install-deps.sh [--runtime] [--build] [--test] [--check] [--list]
#   --runtime  shared libraries the five binaries load (what a container image needs)
#   --build    compiler, CMake and the -dev packages (enough for `make build`)
#   --test     sanitizer/fuzzer runtime, Python test dependencies, benchmark
#              tools and the utilities the tests and scripts call
#   (none)     all of the above
#   --check    report what is missing and exit 1 if anything is; install nothing
#   --list     print the selected package names, one a line, and exit
set -eu

# Libraries the binaries link against at run time, the CA bundle that libcurl
# needs for https webhooks and SMTP over TLS, and the zone data that makes a
# TZ such as Europe/Berlin mean something.
RUNTIME_PKGS="libzmq5 libmsgpackc2 libuv1 libsqlite3-0 libjansson4 libcurl4 libssl3 ca-certificates
tzdata libqrencode4"

# The -dev packages pull the runtime libraries in by dependency. node-llhttp
# ships llhttp's generated C sources under /usr/share/llhttp, which the build
# compiles. git lists the tracked files for `make format`.
BUILD_PKGS="build-essential make cmake pkg-config git libzmq3-dev libmsgpack-dev libuv1-dev
libsqlite3-dev node-llhttp libjansson-dev libcurl4-openssl-dev libssl-dev libqrencode-dev"

# clang and its runtime: libFuzzer targets and sanitizer builds. python3 and its
# modules: end-to-end tests (a local SMTP sink, calendar files, msgpack, checking responses against
# the OpenAPI document's JSON Schemas); zbar-tools decodes
# the QR codes of printed survey code sheets. sqlite3: looking
# into stores from tests. wrk and nginx-light: the benchmark and its baseline.
# procps, iproute2, curl: process control, network namespaces and HTTP probes in
# tests and deploy/run-stack.sh. prometheus: its promtool checks /metrics and
# deploy/prometheus/alerts.yml in the tests. clang-format: `make format`. chromium: the browser
# tests of the pages (driven by npm puppeteer-core, pinned, into ~/.cache/workhealth). python3-yaml: reading
# deploy/k8s in its test. Not from here: Node.js >= 20.19 with npm (Debian 12 ships
# 18), with which the OpenAPI lint test installs its pinned @redocly/cli into
# ~/.cache/workhealth on first use, and the Kubernetes manifest test its pinned
# kubernetes-models into the build directory.
TEST_PKGS="clang libclang-rt-14-dev clang-format python3 python3-aiosmtpd python3-icalendar python3-jsonschema libjson-c-dev
python3-msgpack python3-yaml python3-zmq sqlite3 wrk nginx-light procps iproute2 ca-certificates curl zbar-tools
prometheus chromium fonts-dejavu-core"

prog=${0##*/}
want_runtime=0 want_build=0 want_test=0 check_only=0 list_only=0

usage() {
    sed -n '/^# usage:/,/^set -eu/{/^set -eu/d;s/^# \{0,1\}//;p;}' "$0"
}

for arg in "$@"; do
    case $arg in
    --runtime) want_runtime=1 ;;
    --build) want_build=1 ;;
    --test) want_test=1 ;;
    --check) check_only=1 ;;
    --list) list_only=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        echo "$prog: unknown option '$arg'" >&2
        usage >&2
        exit 2
        ;;
    esac
done
if [ $((want_runtime + want_build + want_test)) -eq 0 ]; then
    want_runtime=1 want_build=1 want_test=1
fi

pkgs=
[ $want_runtime -eq 1 ] && pkgs="$pkgs $RUNTIME_PKGS"
[ $want_build -eq 1 ] && pkgs="$pkgs $BUILD_PKGS"
[ $want_test -eq 1 ] && pkgs="$pkgs $TEST_PKGS"
# One name a line, each once, in a stable order.
# shellcheck disable=SC2086 # splitting the lists into words is intended
pkgs=$(printf '%s\n' $pkgs | sort -u)

if [ $list_only -eq 1 ]; then
    printf '%s\n' "$pkgs"
    exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "$prog: dpkg-query not found; this script is for Debian 12 (bookworm)" >&2
    exit 1
fi
if [ -r /etc/os-release ]; then
    # shellcheck disable=SC1091
    . /etc/os-release
    if [ "${ID:-}" != debian ] || [ "${VERSION_ID:-}" != 12 ]; then
        echo "$prog: warning: written for Debian 12, this is ${PRETTY_NAME:-unknown}; trying anyway" >&2
    fi
fi

# One dpkg-query call for every package keeps the all-present case fast.
# Status-Abbrev is three characters; the second is 'i' when the package is
# installed (the first may be 'h' for held, which is fine). Names dpkg has
# never heard of are not printed at all and so count as missing.
# shellcheck disable=SC2086
installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' $pkgs 2>/dev/null |
    awk 'substr($2, 2, 1) == "i" { sub(/:.*/, "", $1); print $1 }' | sort -u) || true
missing=$(printf '%s\n' "$pkgs" | while read -r p; do
    printf '%s\n' "$installed" | grep -qx -- "$p" || printf '%s\n' "$p"
done)

if [ -z "$missing" ]; then
    echo "$prog: all $(printf '%s\n' "$pkgs" | wc -l) packages present"
    exit 0
fi

missing_words=$(printf '%s\n' "$missing" | tr '\n' ' ' | sed 's/ $//')
echo "$prog: missing: $missing_words"
if [ $check_only -eq 1 ]; then
    exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "$prog: installing packages needs root; run it as root (e.g. sudo $0 $*) or install them yourself:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends $missing_words" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get -o Acquire::Retries=3 update
# shellcheck disable=SC2086 # one word per package is intended
apt-get -o Acquire::Retries=3 install -y --no-install-recommends $missing_words

# Trust apt's exit code, but confirm in the same terms as above so that a
# package apt silently skipped cannot pass unnoticed.
# shellcheck disable=SC2086
still=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' $missing 2>/dev/null |
    awk 'substr($2, 2, 1) == "i" { sub(/:.*/, "", $1); print $1 }' | sort -u) || true
for p in $missing; do
    if ! printf '%s\n' "$still" | grep -qx -- "$p"; then
        echo "$prog: $p is still not installed" >&2
        exit 1
    fi
done
echo "$prog: installed: $missing_words"
