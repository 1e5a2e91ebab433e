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
# One-row commits beside an online backup of a 1 GB store (about 2 GB of
# disk under $TMPDIR while it runs).
"$build/backup_bench"
/usr/bin/python3 "$here/bench_sickleave.py" "$build"
if [ -x "$build/json_bench" ]; then
    "$build/json_bench"
fi
