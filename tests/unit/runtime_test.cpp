#include <cosync/runtime.hpp>
#include <cosync/task.hpp>
#include <cosync/timer.hpp>
#include <cosync/when_all.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "backend.hpp"  // src/: the io_uring failure simulation
#include "catch.hpp"
#include "counted.hpp"
#include "runtime_fixture.hpp"

using cosync::runtime;
using cosync::runtime_config;
using cosync::task;
using namespace std::chrono_literals;

namespace {

/// Sets (or, with nullptr, removes) an environment variable for a scope, then puts it back: the
/// same executable also runs with COSYNC_BACKEND=epoll, which later test cases rely on.
class env_override {
 public:
  env_override(const char* name, const char* value) : name_{name} {
    if (const char* old = std::getenv(name)) {
      saved_ = old;
    }
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  env_override(const env_override&) = delete;
  env_override& operator=(const env_override&) = delete;
  ~env_override() {
    if (saved_) {
      ::setenv(name_, saved_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> saved_;
};

task<int> add(int a, int b) {
  co_return a + b;
}

task<void> throws() {
  co_await cosync::yield();
  throw std::logic_error("from a coroutine");
}

// Captures what the process writes to stderr while it is alive.
class stderr_capture {
 public:
  stderr_capture() : file_{std::tmpfile()}, saved_{::dup(STDERR_FILENO)} {
    std::fflush(stderr);
    ::dup2(::fileno(file_), STDERR_FILENO);
  }
  ~stderr_capture() {
    restore();
    std::fclose(file_);
  }
  std::string text() {
    restore();
    std::string out;
    std::rewind(file_);
    for (int c; (c = std::fgetc(file_)) != EOF;) {
      out.push_back(static_cast<char>(c));
    }
    return out;
  }

 private:
  void restore() {
    if (saved_ >= 0) {
      std::fflush(stderr);
      ::dup2(saved_, STDERR_FILENO);
      ::close(saved_);
      saved_ = -1;
    }
  }
  std::FILE* file_;
  int saved_;
};

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](timeval t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace

TEST_CASE("a bad runtime configuration throws cosync::config_error", "[runtime][unit]") {
  CHECK_THROWS_AS(runtime{runtime_config{.executors = 0}}, cosync::config_error);
  CHECK_THROWS_WITH(runtime{runtime_config{.executors = 0}}, cosync::test::contains("at least 1"));
  CHECK_THROWS_AS(runtime{runtime_config{.executors = runtime::max_executors + 1}}, cosync::config_error);
  CHECK_THROWS_AS((runtime{runtime_config{.executors = 1, .mesh_ring_capacity = 0}}), cosync::config_error);
  const env_override pigeon{"COSYNC_BACKEND", "carrier-pigeon"};
  CHECK_THROWS_WITH(runtime{runtime_config{.executors = 1}}, cosync::test::contains("COSYNC_BACKEND"));
}

TEST_CASE("sync_wait returns the value of the awaited task", "[runtime][unit]") {
  runtime rt{runtime_config{.executors = 2}};
  CHECK(cosync::sync_wait(rt, add(2, 3)) == 5);
  CHECK(cosync::sync_wait(rt, add(4, 5)) == 9);  // a runtime serves many sync_waits
}

TEST_CASE("sync_wait and run rethrow the awaited task's exception", "[runtime][unit]") {
  runtime rt{runtime_config{.executors = 1}};
  CHECK_THROWS_AS(cosync::sync_wait(rt, throws()), std::logic_error);
  CHECK_THROWS_WITH(cosync::run(throws(), runtime_config{.executors = 1}), "from a coroutine");
  CHECK(cosync::run(add(20, 22), runtime_config{.executors = 1}) == 42);
}

TEST_CASE("off-executor misuse throws cosync::usage_error", "[runtime][unit]") {
  CHECK_FALSE(cosync::on_executor());
  CHECK_THROWS_AS(cosync::this_executor(), cosync::usage_error);
  runtime rt{runtime_config{.executors = 1}};
  auto nested = [&rt]() -> task<int> { co_return cosync::sync_wait(rt, add(1, 1)); };
  CHECK_THROWS_WITH(cosync::sync_wait(rt, nested()),
                    cosync::test::contains("sync_wait called on an executor"));
  auto far_away = []() -> task<void> { co_await cosync::switch_to(7); };
  CHECK_THROWS_AS(cosync::sync_wait(rt, far_away()), cosync::usage_error);
  CHECK_THROWS_AS(rt.spawn(task<void>{}), cosync::usage_error);
  CHECK_THROWS_AS(rt.spawn([]() -> task<void> { co_return; }(), 3), cosync::usage_error);
}

COSYNC_TEST_CASE("switch_to moves the coroutine to the chosen executor", "[runtime][unit]") {
  CHECK(cosync::on_executor());
  CHECK(cosync::this_executor() == 0);  // sync_wait starts on executor 0
  co_await cosync::switch_to(1);
  CHECK(cosync::this_executor() == 1);
  co_await cosync::switch_to(1);  // already there: completes at once
  CHECK(cosync::this_executor() == 1);
  co_await cosync::switch_to(0);
  CHECK(cosync::this_executor() == 0);
}

COSYNC_TEST_CASE("a sleeping executor is woken by work arriving through the mesh", "[runtime][unit]") {
  for (int i = 0; i < 20; ++i) {
    co_await cosync::sleep_for(2ms);  // long enough for executor 1 to go to sleep
    co_await cosync::switch_to(1);
    co_await cosync::sleep_for(1ms);  // and for executor 0
    co_await cosync::switch_to(0);
  }
  CHECK(cosync::this_executor() == 0);
}

COSYNC_TEST_CASE("yield lets the other ready coroutines run first", "[runtime][unit]") {
  std::vector<int> order;
  auto worker = [&order](int id) -> task<void> {
    for (int step = 0; step < 3; ++step) {
      order.push_back(id * 10 + step);
      co_await cosync::yield();
    }
  };
  co_await cosync::when_all(worker(1), worker(2));
  CHECK(order == std::vector<int>{10, 20, 11, 21, 12, 22});
}

TEST_CASE("spawn runs a detached task to completion", "[runtime][unit]") {
  runtime rt{runtime_config{.executors = 2}};
  std::promise<std::size_t> where;
  auto job = [](std::promise<std::size_t>& p) -> task<void> {
    co_await cosync::sleep_for(1ms);
    p.set_value(cosync::this_executor());
  };
  rt.spawn(job(where), 1);
  CHECK(where.get_future().get() == 1);
}

TEST_CASE("destroying a runtime destroys the coroutines still suspended in it", "[runtime][unit]") {
  cosync::test::counted::reset();
  {
    std::atomic<int> parked{0};
    auto sleeper = [](std::atomic<int>& count) -> task<void> {
      cosync::test::counted probe{1};  // lives in the frame
      auto inner = [](std::atomic<int>& inner_count) -> task<void> {
        cosync::test::counted inner_probe{2};
        inner_count.fetch_add(1);
        co_await cosync::sleep_for(std::chrono::hours{1});
      };
      co_await cosync::when_all(inner(count), inner(count));
    };
    runtime rt{runtime_config{.executors = 2}};
    for (std::size_t i = 0; i < 10; ++i) {
      rt.spawn(sleeper(parked), i % 2);
    }
    while (parked.load() < 20) {
      std::this_thread::sleep_for(1ms);
    }
    CHECK(cosync::test::counted::live() == 30);
  }  // ~runtime: stop, join, destroy the frames (ASan/LSan check nothing leaks)
  CHECK(cosync::test::counted::live() == 0);
}

TEST_CASE("pinned executors run", "[runtime][unit]") {
  runtime rt{runtime_config{.executors = 2, .pin_threads = true}};
  auto where = []() -> task<std::size_t> {
    co_await cosync::switch_to(1);
    co_return cosync::this_executor();
  };
  CHECK(cosync::sync_wait(rt, where()) == 1);
}

TEST_CASE("an idle runtime uses no CPU", "[runtime][unit]") {
  runtime rt{runtime_config{.executors = 2}};
  CHECK(cosync::sync_wait(rt, add(1, 1)) == 2);  // started and settled
  const double before = cpu_seconds();
  std::this_thread::sleep_for(1s);
  const double used = cpu_seconds() - before;
  INFO("CPU seconds used while idle for 1 s: " << used);
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer's own background thread (shadow memory upkeep, heavier after the suites run
  // before this case in the same process) is counted in RUSAGE_SELF: 1 ms alone, up to ~40 ms in a
  // loaded CI run. The 1% bound is checked in the other builds.
  CHECK(used < 0.1);
#else
  CHECK(used < 0.01);  // under 1% of one core
#endif
}

TEST_CASE("the backend can be forced to epoll", "[runtime][backend][unit]") {
  runtime rt{runtime_config{.executors = 2, .backend = cosync::backend_kind::epoll}};
  CHECK(rt.backend() == cosync::backend_kind::epoll);
  CHECK(cosync::sync_wait(rt, add(1, 2)) == 3);
  const env_override epoll{"COSYNC_BACKEND", "epoll"};
  runtime by_environment{runtime_config{.executors = 1}};
  CHECK(by_environment.backend() == cosync::backend_kind::epoll);
}

TEST_CASE("when io_uring is refused, auto falls back to epoll and says so once", "[runtime][backend][unit]") {
  const env_override automatic{"COSYNC_BACKEND", nullptr};  // this test is about the automatic choice
  cosync::detail::simulate_uring_setup_failure(EPERM);
  stderr_capture capture;
  {
    runtime first{runtime_config{.executors = 2}};
    CHECK(first.backend() == cosync::backend_kind::epoll);
    CHECK(cosync::sync_wait(first, add(3, 4)) == 7);
    runtime second{runtime_config{.executors = 1}};
    CHECK(second.backend() == cosync::backend_kind::epoll);
  }
  const std::string said = capture.text();
  CHECK_THROWS_AS((runtime{runtime_config{.executors = 1, .backend = cosync::backend_kind::io_uring}}),
                  cosync::backend_error);
  cosync::detail::simulate_uring_setup_failure(EINVAL);  // a real error: no silent fallback
  CHECK_THROWS_AS(runtime{runtime_config{.executors = 1}}, cosync::backend_error);
  cosync::detail::simulate_uring_setup_failure(0);
  if (std::getenv("COSYNC_URING_REFUSED") != nullptr) {
    // Run under seccomp_exec with io_uring_setup refused: the first runtime of this process
    // already fell back for real and said so (once per process).
    CHECK(said.find("io_uring unavailable") == std::string::npos);
    return;
  }
  CHECK(said.find("io_uring unavailable") != std::string::npos);
  CHECK(said.find("using the epoll backend") != std::string::npos);
  CHECK(said.find("io_uring unavailable") == said.rfind("io_uring unavailable"));  // once
}

TEST_CASE("the runtime runs on the backend the environment allows", "[runtime][backend][unit]") {
  // Set by the suites run under seccomp_exec (io_uring_setup or epoll_pwait2 refused with EPERM,
  // as container runtimes do): the runtime must fall back by itself and keep working.
  const char* expected = std::getenv("COSYNC_EXPECT_BACKEND");
  runtime rt{runtime_config{.executors = 2}};
  if (expected != nullptr) {
    CHECK(rt.backend() ==
          (std::string{expected} == "epoll" ? cosync::backend_kind::epoll : cosync::backend_kind::io_uring));
  }
  auto nap = []() -> task<int> {
    co_await cosync::sleep_for(2ms);  // blocks in the backend's wait with a timeout
    co_await cosync::switch_to(1);
    co_return 5;
  };
  CHECK(cosync::sync_wait(rt, nap()) == 5);
}

TEST_CASE("an io_uring without the opcodes cosync needs makes auto fall back to epoll",
          "[runtime][backend][unit]") {
  const env_override automatic{"COSYNC_BACKEND", nullptr};
  cosync::detail::simulate_uring_missing_opcode(true);
  {
    runtime rt{runtime_config{.executors = 1}};
    CHECK(rt.backend() == cosync::backend_kind::epoll);
    CHECK(cosync::sync_wait(rt, add(1, 1)) == 2);
  }
  CHECK_THROWS_AS((runtime{runtime_config{.executors = 1, .backend = cosync::backend_kind::io_uring}}),
                  cosync::backend_error);
  cosync::detail::simulate_uring_missing_opcode(false);
}

TEST_CASE("the default executor count never exceeds max_executors", "[runtime][unit]") {
  CHECK(runtime_config{}.executors >= 1);
  CHECK(runtime_config{}.executors <= runtime::max_executors);
}

TEST_CASE("auto uses io_uring exactly where the kernel allows it", "[runtime][backend][unit]") {
  if (std::getenv("COSYNC_BACKEND") != nullptr) {
    SUCCEED("COSYNC_BACKEND is set: the automatic choice is overridden in this run");
    return;
  }
  bool uring_allowed = true;
  try {
    (void)cosync::detail::make_uring_backend();
  } catch (const cosync::detail::uring_setup_failed& refused) {
    uring_allowed = false;
    WARN("io_uring is refused here (" << refused.what() << "): checking the fallback instead");
  }
  runtime rt{runtime_config{.executors = 1}};
  CHECK(rt.backend() == (uring_allowed ? cosync::backend_kind::io_uring : cosync::backend_kind::epoll));
  CHECK(cosync::sync_wait(rt, add(2, 2)) == 4);
}
