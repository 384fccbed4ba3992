# amalgam_library(NAME SOURCES... DEPS...): one static library per layer.
function(amalgam_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(amalgam_${name} STATIC ${ARG_SOURCES})
  target_include_directories(amalgam_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(amalgam_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# amalgam_test(NAME SOURCES... DEPS...): one GoogleTest binary per layer, registered with CTest.
function(amalgam_test name)
  if(NOT AMALGAM_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300)
endfunction()
