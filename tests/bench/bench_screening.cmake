# sqlite_bare is the baseline of tests/bench/bench_screening.py: bare SQLite
# inserting the screening service's rows into its own schema. Build without
# WH_SANITIZE for figures worth quoting:
#   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=RelWithDebInfo
#   cmake --build build-bench
#   /usr/bin/python3 tests/bench/bench_screening.py build-bench
add_executable(sqlite_bare ${CMAKE_SOURCE_DIR}/tests/bench/sqlite_bare.c)
target_link_libraries(sqlite_bare PRIVATE whscreening)
# A short run keeps the baseline building and working.
add_test(NAME bench.sqlite_bare COMMAND sqlite_bare batch ${CMAKE_BINARY_DIR}/sqlite_bare_test.db
                                        2000 1000)
set_tests_properties(bench.sqlite_bare PROPERTIES TIMEOUT 60)
