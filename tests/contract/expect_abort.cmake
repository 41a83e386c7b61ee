# Runs EXE and passes only if it fails with cosync's contract-violation message on stderr.
execute_process(COMMAND ${EXE} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "exit: ${result}\n${err}")
if(result EQUAL 0)
  message(FATAL_ERROR "${EXE} exited normally; the contract violation was not caught")
endif()
if(NOT err MATCHES "cosync: contract violation")
  message(FATAL_ERROR "${EXE} failed without cosync's contract-violation message")
endif()
