# Fails when any C++ file of the project is not clang-formatted (.clang-format at the root).
file(GLOB_RECURSE files ${SOURCE_DIR}/src/*.cc ${SOURCE_DIR}/src/*.h ${SOURCE_DIR}/include/*.h
     ${SOURCE_DIR}/tests/*.cc ${SOURCE_DIR}/examples/*.cc ${SOURCE_DIR}/bench/*.cc
     ${SOURCE_DIR}/bench/*.h)
find_program(CLANG_FORMAT NAMES clang-format clang-format-14 REQUIRED)
set(bad "")
foreach(f ${files})
  execute_process(COMMAND ${CLANG_FORMAT} --dry-run -Werror ${f} RESULT_VARIABLE rc
                  OUTPUT_QUIET ERROR_QUIET)
  if(rc)
    list(APPEND bad ${f})
  endif()
endforeach()
if(bad)
  string(REPLACE ";" "\n  " bad "${bad}")
  message(FATAL_ERROR "not clang-formatted (run clang-format -i):\n  ${bad}")
endif()
