# Installs the built library into a scratch prefix, then configures, builds and runs a
cmake_minimum_required(VERSION 3.25)
# separate project that finds it with find_package(anyio).
# With LIBRARY_ONLY, the library is first configured and built on its own, the way a
# packager would: ANYIO_BUILD_TESTS, ANYIO_BUILD_EXAMPLES and ANYIO_BUILD_BENCH off, so
# neither GoogleTest nor Google Benchmark is needed.
set(prefix "${WORK_DIR}/prefix")
file(REMOVE_RECURSE "${WORK_DIR}")
if(LIBRARY_ONLY)
  set(BUILD_DIR "${WORK_DIR}/library")
  execute_process(COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${BUILD_DIR}" -G Ninja
                  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
                  -DANYIO_BUILD_TESTS=OFF -DANYIO_BUILD_EXAMPLES=OFF -DANYIO_BUILD_BENCH=OFF
                  RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "configuring the library alone failed: ${rc}")
  endif()
  execute_process(COMMAND "${CMAKE_COMMAND}" --build "${BUILD_DIR}" RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "building the library alone failed: ${rc}")
  endif()
  file(GLOB_RECURSE built_tests "${BUILD_DIR}/tests/*")
  if(built_tests OR EXISTS "${BUILD_DIR}/examples" OR EXISTS "${BUILD_DIR}/bench")
    message(FATAL_ERROR "the library-only build built tests, examples or benchmarks")
  endif()
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}"
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "cmake --install failed: ${rc}")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/install/consumer"
                -B "${WORK_DIR}/consumer" -G Ninja -DCMAKE_PREFIX_PATH=${prefix}
                -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the consumer failed: ${rc}")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${WORK_DIR}/consumer" RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the consumer failed: ${rc}")
endif()
execute_process(COMMAND "${WORK_DIR}/consumer/consumer" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the consumer exited with ${rc}")
endif()
message(STATUS "find_package(anyio) from an install prefix works")
