# ithaca_module(NAME SOURCES ... DEPS ... TESTS ...)
# One call per module folder: the library target ithaca_<name>, and its unit tests (files
# next to the code, *_test.cpp) as one gtest binary registered with ctest.
function(ithaca_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS;TESTS;TEST_DEPS" ${ARGN})
  add_library(ithaca_${name} ${M_SOURCES})
  target_include_directories(ithaca_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(ithaca_${name} PUBLIC ${M_DEPS})
  if(ITHACA_BUILD_TESTS AND M_TESTS)
    add_executable(ithaca_${name}_test ${M_TESTS})
    target_link_libraries(ithaca_${name}_test PRIVATE ithaca_${name} ${M_TEST_DEPS}
                          GTest::gmock GTest::gtest_main)
    target_compile_definitions(ithaca_${name}_test
                               PRIVATE ITHACA_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
    gtest_discover_tests(ithaca_${name}_test DISCOVERY_TIMEOUT 60)
  endif()
endfunction()
