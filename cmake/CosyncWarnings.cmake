# Warnings apply to cosync's own targets only (tests, examples, benchmarks, header checks),
# never to a consumer that links cosync::cosync.
if(NOT TARGET cosync_warnings)
  add_library(cosync_warnings INTERFACE)
  target_compile_options(cosync_warnings INTERFACE
    $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion>)
endif()
