# Every test is its own process with a timeout (libuv's habit); ctest prints
# the summary CI reads.
set(WH_PY /usr/bin/python3) # Debian's python3 sees Debian's python3-* packages

file(GLOB unit_tests CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/*_test.c)
foreach(src ${unit_tests})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
  target_link_libraries(${name} PRIVATE whgateway whagreements whsurveys whscreening
                                          whnotifications)
  add_test(NAME unit.${name} COMMAND ${name})
  set_tests_properties(unit.${name} PROPERTIES TIMEOUT 120)
endforeach()

# Fuzz targets: with WH_FUZZ they are libFuzzer binaries; always they are also
# built with a plain driver that replays their seed corpus as an ordinary test.
file(GLOB fuzz_targets CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/*_fuzz.c)
foreach(src ${fuzz_targets})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name}_replay ${src} ${CMAKE_SOURCE_DIR}/tests/fuzz/replay_main.c)
  target_link_libraries(${name}_replay PRIVATE whgateway whsurveys)
  add_test(NAME fuzz.${name} COMMAND ${name}_replay ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name})
  set_tests_properties(fuzz.${name} PROPERTIES TIMEOUT 300)
  if(WH_FUZZ)
    add_executable(${name} ${src})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(${name} PRIVATE whgateway whsurveys)
  endif()
endforeach()

# A test-only LD_PRELOAD library that makes fsync fail on demand, for the
# store fault tests; never linked into a service.
add_library(wh_fsync_fault SHARED ${CMAKE_SOURCE_DIR}/tests/fault/fsync_fault.c)
target_link_libraries(wh_fsync_fault PRIVATE ${CMAKE_DL_LIBS})

foreach(kind e2e fault deploy lint browser)
  file(GLOB py_tests CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/${kind}/test_*.py)
  foreach(src ${py_tests})
    get_filename_component(name ${src} NAME_WE)
    add_test(NAME ${kind}.${name} COMMAND ${WH_PY} ${src})
    # Browser journeys start Chromium several times: more time on a busy machine.
    if(kind STREQUAL "browser")
      set(timeout 600)
    else()
      set(timeout 300)
    endif()
    set_tests_properties(${kind}.${name} PROPERTIES TIMEOUT ${timeout}
      ENVIRONMENT "WH_BIN_DIR=${CMAKE_BINARY_DIR};PYTHONDONTWRITEBYTECODE=1")
  endforeach()
endforeach()

include(${CMAKE_SOURCE_DIR}/tests/bench/bench.cmake)
include(${CMAKE_SOURCE_DIR}/tests/bench/bench_screening.cmake)
