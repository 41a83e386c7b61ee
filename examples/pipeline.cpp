// The example pipeline, as coroutines on cosync's channels:
//
//                      ┌─▶ transform ─┐
//   generate ──jobs──▶ ├─▶ transform ─┤──results──▶ aggregate
//                      └─▶ transform ─┘
//        (fan-out over an MPMC channel)   (fan-in over another)
//
// The generator sends batches of numbers; a transform worker per executor hashes each batch; the
// aggregator folds the hashes into a checksum. Full channels slow the generator down
// (backpressure) and empty ones park the workers; nothing polls. When the generator is done it
// closes `jobs`; the workers drain it and finish, and once the last one has (a wait group) the
// fan-in `results` is closed. On a terminal a
// live progress line is shown. At the end the checksum is checked against a single-threaded
// recomputation and the throughput printed.
//
// Every stage is a child of one task group (with_task_group), so none can outlive the pipeline,
// and Ctrl-C (or SIGTERM) is a clean shutdown: stop_on_signal cancels the group, every stage
// stops at its next channel operation or sleep, and the program reports how far it got.
//
//   pipeline [--items N] [--stats]     (default 300,000,000 items)
//
// --stats prints, at the end, what each executor did (cosync::runtime::stats): coroutines resumed,
// how often it slept and was woken, what crossed the mesh and whether a ring overflowed, timers,
// busy and idle time. COSYNC_TRACE=trace.json writes a timeline of the run (tools/trace-timeline
// draws it as an SVG; Perfetto and chrome://tracing open the file).

#include <cosync/channel.hpp>
#include <cosync/runtime.hpp>
#include <cosync/runtime_stats.hpp>
#include <cosync/signal.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/timer.hpp>
#include <cosync/wait_group.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
using batch = std::vector<std::uint64_t>;
constexpr std::size_t batch_size = 4096;

// The transform stage: a strong 64-bit mix (splitmix64's finaliser).
std::uint64_t transform(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Workers finish in any order, so the aggregate is order-independent: a sum and an xor.
struct checksum {
  std::uint64_t sum = 0;
  std::uint64_t xored = 0;
  void add(std::uint64_t v) noexcept {
    sum += v;
    xored ^= v;
  }
  bool operator==(const checksum&) const = default;
};

cosync::task<void> generate(cosync::channel<batch>& jobs, std::uint64_t items) {
  for (std::uint64_t next = 0; next < items;) {
    batch b;
    b.reserve(batch_size);
    for (; b.size() < batch_size && next < items; ++next) {
      b.push_back(next);
    }
    co_await jobs.send(std::move(b));  // waits while the workers are behind
  }
  jobs.close();
}

cosync::task<void> work(std::size_t executor, cosync::channel<batch>& jobs, cosync::channel<batch>& results,
                        cosync::wait_group& workers) {
  co_await cosync::switch_to(executor);
  while (auto b = co_await jobs.recv()) {
    for (std::uint64_t& x : *b) {
      x = transform(x);
    }
    co_await results.send(std::move(*b));
  }
  workers.done();
}

// Closes the fan-in once every worker is done.
cosync::task<void> close_when_done(cosync::wait_group& workers, cosync::channel<batch>& results) {
  co_await workers.wait();
  results.close();
}

cosync::task<void> aggregate(cosync::channel<batch>& results, std::atomic<std::uint64_t>& progress,
                             checksum& c) {
  while (auto b = co_await results.recv()) {
    for (std::uint64_t v : *b) {
      c.add(v);
    }
    progress.fetch_add(b->size(), std::memory_order_relaxed);
  }
}

// Live progress on a terminal only, until the aggregate is done.
cosync::task<void> report(const std::atomic<std::uint64_t>& progress, std::uint64_t items,
                          clock_type::time_point start) {
  if (isatty(STDOUT_FILENO) == 0) {
    co_return;
  }
  while (progress.load(std::memory_order_relaxed) < items) {
    co_await cosync::sleep_for(std::chrono::milliseconds{200});
    const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    const auto done = progress.load(std::memory_order_relaxed);
    std::printf("\r%12llu / %llu items  %7.1f M items/s", static_cast<unsigned long long>(done),
                static_cast<unsigned long long>(items), static_cast<double>(done) / seconds / 1e6);
    std::fflush(stdout);
  }
  std::printf("\n");
}

struct outcome {
  checksum total;
  std::uint64_t done = 0;
  bool interrupted = false;
};

cosync::task<outcome> run_pipeline(std::uint64_t items, std::size_t executors, clock_type::time_point start) {
  cosync::channel<batch> jobs{2 * executors};
  cosync::channel<batch> results{2 * executors};
  cosync::wait_group workers;
  std::atomic<std::uint64_t> progress{0};
  checksum total;
  auto pipeline = cosync::with_task_group([&](cosync::task_group& g) -> cosync::task<void> {
    g.spawn(generate(jobs, items), "generate");  // labels name the stages in a trace
    workers.add(static_cast<std::int64_t>(executors));
    for (std::size_t e = 0; e < executors; ++e) {
      g.spawn(work(e, jobs, results, workers), "transform");
    }
    g.spawn(close_when_done(workers, results), "close results");
    g.spawn(aggregate(results, progress, total), "aggregate");
    g.spawn(report(progress, items, start), "progress");
    co_return;
  });
  // Ctrl-C or SIGTERM cancels the group: every stage stops where it waits.
  const bool completed = co_await cosync::stop_on_signal(std::move(pipeline), SIGINT, SIGTERM);
  co_return outcome{total, progress.load(), !completed};
}

struct options {
  std::uint64_t items = 300'000'000;
  bool stats = false;
};

options parse_options(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--items") == 0 && i + 1 < argc) {
      char* end = nullptr;
      o.items = std::strtoull(argv[++i], &end, 10);
      if (*end != '\0' || o.items == 0) {
        std::fprintf(stderr, "pipeline: --items wants a positive integer\n");
        std::exit(2);
      }
    } else if (std::strcmp(argv[i], "--stats") == 0) {
      o.stats = true;
    } else {
      std::fprintf(stderr, "usage: pipeline [--items N] [--stats]\n");
      std::exit(2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const options opts = parse_options(argc, argv);
  const std::uint64_t items = opts.items;
  const std::size_t executors = std::max(1u, std::thread::hardware_concurrency());
  cosync::runtime rt{cosync::runtime_config{.executors = executors}};
  const auto start = clock_type::now();
  const outcome out = cosync::sync_wait(rt, run_pipeline(items, executors, start));
  const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  const auto print_stats = [&] {
    if (opts.stats) {
      std::printf("\nper executor:\n%s", cosync::stats_table(rt.stats()).c_str());
    }
  };
  if (out.interrupted) {
    std::printf(
        "\ninterrupted: %llu of %llu items through the pipeline in %.3f s; every stage stopped cleanly\n",
        static_cast<unsigned long long>(out.done), static_cast<unsigned long long>(items), seconds);
    print_stats();
    return 130;
  }
  const checksum& got = out.total;

  checksum expected;
  for (std::uint64_t i = 0; i < items; ++i) {
    expected.add(transform(i));
  }
  std::printf("items      %llu\n", static_cast<unsigned long long>(items));
  std::printf("checksum   %016llx%016llx (%s)\n", static_cast<unsigned long long>(got.sum),
              static_cast<unsigned long long>(got.xored), got == expected ? "matches" : "MISMATCH");
  std::printf("throughput %.1f M items/s (%.3f s, %zu executors, %zu transform workers)\n",
              static_cast<double>(items) / seconds / 1e6, seconds, executors, executors);
  print_stats();
  return got == expected ? EXIT_SUCCESS : EXIT_FAILURE;
}
