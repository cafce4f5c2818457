# hangar_module(NAME SOURCES ... DEPS ...): one folder = one library.
function(hangar_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(hangar_${name} STATIC ${ARG_SOURCES})
  target_include_directories(hangar_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(hangar_${name} PUBLIC ${ARG_DEPS})
endfunction()

# hangar_test(NAME SOURCES ... DEPS ...): a GoogleTest binary registered with ctest.
function(hangar_test name)
  if(NOT HANGAR_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  gtest_discover_tests(${name}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    PROPERTIES ENVIRONMENT "HANGAR_SIGV4_VECTORS=${PROJECT_SOURCE_DIR}/tests/data/sigv4"
               LABELS unit
    DISCOVERY_TIMEOUT 30)
endfunction()
