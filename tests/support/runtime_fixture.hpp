#pragma once

// COSYNC_TEST_CASE(name, tags) { ...co_await... }: a Catch2 test case whose body is a coroutine
// run by sync_wait on a fresh two-executor runtime. Catch2's assertions are not thread-safe, so a
// body asserts only from its own coroutine (which runs while the test thread is blocked), never
// from coroutines running concurrently on another executor.

#include <cosync/runtime.hpp>
#include <cosync/task.hpp>

#include "catch.hpp"

namespace cosync::test {

inline runtime_config two_executors() {
  return runtime_config{.executors = 2};
}

}  // namespace cosync::test

#define COSYNC_TEST_CAT_(a, b) a##b
#define COSYNC_TEST_CAT(a, b) COSYNC_TEST_CAT_(a, b)

#define COSYNC_TEST_CASE_IMPL_(body, name, tags)           \
  static ::cosync::task<void> body();                      \
  TEST_CASE(name, tags) {                                  \
    ::cosync::runtime rt{::cosync::test::two_executors()}; \
    ::cosync::sync_wait(rt, body());                       \
  }                                                        \
  static ::cosync::task<void> body()

#define COSYNC_TEST_CASE(name, tags) \
  COSYNC_TEST_CASE_IMPL_(COSYNC_TEST_CAT(cosync_test_body_, __LINE__), name, tags)
