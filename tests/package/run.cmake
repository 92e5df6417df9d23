# Installs the already-built recur into a scratch prefix, then configures, builds and runs a
# tiny project that finds it with find_package(recur). Run by CTest with -P.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${WORK_DIR}/prefix
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "install failed: ${rc}")
endif()
# A sanitized static recur needs the sanitizer runtimes when the consumer links.
set(link_flags "")
if(SANITIZE)
  string(REPLACE ";" "," SANITIZE "${SANITIZE}")
  set(link_flags "-fsanitize=${SANITIZE}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package/consumer
                -B ${WORK_DIR}/build -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix
                -DCMAKE_BUILD_TYPE=${BUILD_TYPE} "-DCMAKE_EXE_LINKER_FLAGS=${link_flags}"
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the consumer failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the consumer failed: ${rc}")
endif()
execute_process(COMMAND ${WORK_DIR}/build/consumer RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message(STATUS "${out}")
if(rc OR NOT out MATCHES "output \\[3, 2, 4\\]")
  message(FATAL_ERROR "the consumer failed: ${rc} ${out}")
endif()
