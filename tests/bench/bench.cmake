# Benchmarks: measurements behind design choices, not part of the product.
# Build them without WH_SANITIZE for figures worth quoting:
#   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release
#   cmake --build build-bench --target json_bench && build-bench/json_bench

# json_bench compares jansson with json-c on the gateway's JSON -> msgpack
# path. json-c (libjson-c-dev) is needed only for this, so the bench is built
# only where it is installed.
pkg_check_modules(JSONC json-c)
if(JSONC_FOUND)
  # jansson and json-c both export json_object_get and json_object_iter_next.
  # An undefined symbol binds to the first shared library on the link line
  # that defines it, so jansson must come before json-c or common/json.c
  # would call json-c. Putting json-c behind a static library that depends on
  # whcommon makes CMake order it after whcommon's own libraries; json_bench
  # checks at start-up that the binding came out right.
  add_library(json_bench_jsonc STATIC ${CMAKE_SOURCE_DIR}/tests/bench/json_bench_jsonc.c)
  # Link only, no include path: json-c's pkg-config adds -I/usr/include/json-c,
  # whose json.h would shadow common/json.h; the source says <json-c/json.h>.
  target_link_libraries(json_bench_jsonc PUBLIC whcommon ${JSONC_LINK_LIBRARIES})
  add_executable(json_bench ${CMAKE_SOURCE_DIR}/tests/bench/json_bench.c)
  target_link_libraries(json_bench PRIVATE json_bench_jsonc)
  # A few iterations of each case, so that the bench keeps building and its
  # two converters keep agreeing.
  add_test(NAME bench.json_bench COMMAND json_bench --quick)
  set_tests_properties(bench.json_bench PROPERTIES TIMEOUT 120)
else()
  message(STATUS "json-c not found: json_bench not built")
endif()

# backup_bench: the latency of one-row commits with and without an online
# backup running beside them (services/runtime/backup.h), on a 1 GB store;
# tests/bench/README.md, "Backups", has its figures.
add_executable(backup_bench ${CMAKE_SOURCE_DIR}/tests/bench/backup_bench.c)
target_link_libraries(backup_bench PRIVATE whruntime)
# An 8 MB store, one round: keeps it building and working.
add_test(NAME bench.backup_bench COMMAND backup_bench --quick --dir ${CMAKE_BINARY_DIR})
set_tests_properties(bench.backup_bench PROPERTIES TIMEOUT 120)
# sickleave_bare is the baseline of tests/bench/bench_sickleave.py: bare
# SQLite inserting an import's rows into the surveys service's schema, and the
# plain SQL aggregate of one employer's figures.
add_executable(sickleave_bare ${CMAKE_SOURCE_DIR}/tests/bench/sickleave_bare.c)
target_link_libraries(sickleave_bare PRIVATE whsurveys)
# A short run keeps the baseline building and working.
add_test(NAME bench.sickleave_bare
         COMMAND ${WH_PY} ${CMAKE_SOURCE_DIR}/tests/bench/bench_sickleave.py ${CMAKE_BINARY_DIR}
                 --quick)
set_tests_properties(bench.sickleave_bare PROPERTIES TIMEOUT 120
  ENVIRONMENT "WH_BIN_DIR=${CMAKE_BINARY_DIR};PYTHONDONTWRITEBYTECODE=1")
