#!/bin/sh
# Runs every benchmark against the build directory given (default ./build).
# Benchmarks print medians and ratios against a reference measured in the
# same run; they assert nothing, so they are not part of `make test`.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-${WH_BIN_DIR:-build}}
/usr/bin/python3 "$here/bench_gateway.py" "$build"
/usr/bin/python3 "$here/bench_events.py" "$build"
/usr/bin/python3 "$here/bench_start.py" "$build"
/usr/bin/python3 "$here/bench_surveys.py" "$build"
/usr/bin/python3 "$here/bench_screening.py" "$build"
if [ -x "$build/json_bench" ]; then
    "$build/json_bench"
fi
