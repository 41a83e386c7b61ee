#include "harness.hpp"

#include <fmt/core.h>
#include <fmt/format.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>

extern char** environ;

namespace cosync::bench {
namespace {

// Round trips slower than this are "far": the two vCPUs sit on distant cores (~630 ns measured)
// rather than near ones (~150 ns).
constexpr double far_threshold_ns = 350;

struct options {
  int reps = 9;
  double scale = 1.0;
  bool json = false;
  bool in_process = false;
  bool list = false;
  std::string filter;
  int child = -1;  // >= 0: run this case once and print its result line
};

struct sample {
  result r;
  double probe_ns = -1;  // -1: single-threaded case, no placement
};

[[noreturn]] void usage(const char* argv0) {
  fmt::print(stderr,
             "usage: {} [--reps N] [--scale F] [--filter TEXT] [--json] [--in-process] [--list]\n"
             "  --reps N       repetitions of every case (default 9)\n"
             "  --scale F      multiply every workload's size by F (e.g. 0.01 for a quick check)\n"
             "  --filter TEXT  only cases whose workload or implementation contains TEXT\n"
             "  --json         one JSON object per measurement instead of the table\n"
             "  --in-process   run cases in this process (debugging; no fresh placement per run)\n",
             argv0);
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        usage(argv[0]);
      }
      return argv[++i];
    };
    if (arg == "--reps") {
      o.reps = std::max(1, std::atoi(value()));
    } else if (arg == "--scale") {
      o.scale = std::atof(value());
      if (!(o.scale > 0)) {
        usage(argv[0]);
      }
    } else if (arg == "--filter") {
      o.filter = value();
    } else if (arg == "--json") {
      o.json = true;
    } else if (arg == "--in-process") {
      o.in_process = true;
    } else if (arg == "--list") {
      o.list = true;
    } else if (arg == "--child") {
      o.child = std::atoi(value());
    } else {
      usage(argv[0]);
    }
  }
  return o;
}

std::string serialize(const sample& s) {
  std::string line = fmt::format("{} {} {}", s.r.verified ? 1 : 0, s.r.value, s.probe_ns);
  for (const auto& [key, value] : s.r.extra) {
    line += fmt::format(" {}={}", key, value);
  }
  return line;
}

std::optional<sample> deserialize(const std::string& line) {
  std::istringstream in{line};
  sample s;
  int verified = 0;
  if (!(in >> verified >> s.r.value >> s.probe_ns)) {
    return std::nullopt;
  }
  s.r.verified = verified == 1;
  std::string kv;
  while (in >> kv) {
    const auto eq = kv.find('=');
    if (eq != std::string::npos) {
      s.r.extra[kv.substr(0, eq)] = std::atof(kv.c_str() + eq + 1);
    }
  }
  return s;
}

sample run_here(const bench_case& c, double scale) {
  sample s;
  if (c.two_threads) {
    s.probe_ns = placement_probe();
  }
  (void)c.run(scale / 10);  // warm-up: page in buffers, settle frequencies
  s.r = c.run(scale);
  return s;
}

std::optional<sample> run_child(const char* self, int index, double scale) {
  int out[2];
  if (pipe(out) != 0) {
    return std::nullopt;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  const std::string index_arg = std::to_string(index);
  const std::string scale_arg = fmt::format("{}", scale);
  const char* args[] = {self, "--child", index_arg.c_str(), "--scale", scale_arg.c_str(), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, self, &actions, nullptr, const_cast<char**>(args), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  if (rc != 0) {
    close(out[0]);
    return std::nullopt;
  }
  std::string text;
  char buffer[512];
  for (ssize_t n; (n = read(out[0], buffer, sizeof buffer)) > 0;) {
    text.append(buffer, static_cast<std::size_t>(n));
  }
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return std::nullopt;
  }
  return deserialize(text);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string placement_of(double probe_ns) {
  if (probe_ns < 0) {
    return "-";
  }
  return probe_ns < far_threshold_ns ? "near" : "far";
}

const char* role_name(role who) {
  switch (who) {
    case role::ours:
      return "ours";
    case role::peer:
      return "peer";
    default:
      return "baseline";
  }
}

// The better of two medians' ratio, expressed as "ours relative to theirs" (> 1 means ours wins).
double advantage(const bench_case& c, double ours, double theirs) {
  return c.higher_is_better ? ours / theirs : theirs / ours;
}

void print_table(const std::vector<bench_case>& cases, const std::vector<std::size_t>& selected,
                 const std::map<std::size_t, std::vector<sample>>& samples) {
  // Group by workload, keeping registration order.
  std::vector<std::string> workloads;
  for (std::size_t i : selected) {
    if (std::find(workloads.begin(), workloads.end(), cases[i].workload) == workloads.end()) {
      workloads.push_back(cases[i].workload);
    }
  }
  for (const std::string& workload : workloads) {
    const bench_case* any = nullptr;
    for (std::size_t i : selected) {
      if (cases[i].workload == workload) {
        any = &cases[i];
      }
    }
    fmt::print("\n{}  [{}, {}]\n", workload, any->unit,
               any->higher_is_better ? "higher is better" : "lower is better");
    fmt::print("  {:<22} {:>10} {:>10} {:>10} {:>4}   {:>16} {:>16}   {}\n", "implementation", "median",
               "min", "max", "n", "near: median (n)", "far: median (n)", "extra medians");
    // Best peer's and baseline's medians (overall "" and per placement) for the ratio lines.
    std::map<role, std::map<std::string, double>> best;
    const auto better = [&](double a, double b) { return any->higher_is_better ? a > b : a < b; };
    struct row {
      const bench_case* c;
      std::map<std::string, double> medians;
    };
    std::vector<row> rows;
    for (std::size_t i : selected) {
      const bench_case& c = cases[i];
      if (c.workload != workload) {
        continue;
      }
      static const std::vector<sample> none;
      const auto found = samples.find(i);
      const auto& runs = found != samples.end() ? found->second : none;
      row r{&c, {}};
      std::map<std::string, std::vector<double>> by;
      std::map<std::string, std::vector<double>> extras;
      for (const sample& s : runs) {
        by[""].push_back(s.r.value);
        if (s.probe_ns >= 0) {
          by[placement_of(s.probe_ns)].push_back(s.r.value);
        }
        for (const auto& [k, v] : s.r.extra) {
          extras[k].push_back(v);
        }
      }
      if (by[""].empty()) {
        fmt::print("  {:<22} (no verified run: see the FAILED lines above)\n", c.impl);
        continue;
      }
      const auto& all = by[""];
      for (const auto& [label, values] : by) {
        if (!values.empty()) {
          r.medians[label] = median(values);
        }
      }
      const auto cell = [&](const char* label) {
        const auto it = by.find(label);
        if (it == by.end() || it->second.empty()) {
          return std::string{"-"};
        }
        return fmt::format("{:.1f} ({})", median(it->second), it->second.size());
      };
      std::string extra_text;
      for (const auto& [k, v] : extras) {
        extra_text += fmt::format("{}={:.1f} ", k, median(v));
      }
      fmt::print("  {:<22} {:>10.1f} {:>10.1f} {:>10.1f} {:>4}   {:>16} {:>16}   {}\n", c.impl, r.medians[""],
                 *std::min_element(all.begin(), all.end()), *std::max_element(all.begin(), all.end()),
                 all.size(), cell("near"), cell("far"), extra_text);
      if (c.who != role::ours) {
        auto& best_of_role = best[c.who];
        for (const auto& [label, m] : r.medians) {
          if (!best_of_role.contains(label) || better(m, best_of_role[label])) {
            best_of_role[label] = m;
          }
        }
      }
      rows.push_back(r);
    }
    for (const row& r : rows) {
      if (r.c->who != role::ours) {
        continue;
      }
      for (const auto& [who, name] :
           {std::pair{role::peer, "best peer"}, std::pair{role::baseline, "baseline"}}) {
        if (best[who].empty()) {
          continue;
        }
        std::string text = fmt::format("  => {} vs {}:", r.c->impl, name);
        for (const auto& [label, m] : r.medians) {
          // Across placements a median mixes two regimes: compare within a label only.
          const bool mixed = label.empty() && r.c->two_threads;
          if (!mixed && best[who].contains(label)) {
            text += fmt::format("  {} {:.2f}x", label.empty() ? "all" : label.c_str(),
                                advantage(*r.c, m, best[who][label]));
          }
        }
        fmt::print("{}   (>1: cosync ahead)\n", text);
      }
    }
  }
}

}  // namespace

void pin_to_cpu(int cpu) noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<unsigned>(cpu) % std::max(1u, std::thread::hardware_concurrency()), &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) {
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true)) {
      fmt::print(stderr, "bench: could not pin threads; results will be noisier\n");
    }
  }
}

scoped_pin::scoped_pin(int cpu) noexcept {
  restore_ = pthread_getaffinity_np(pthread_self(), sizeof saved_, &saved_) == 0;
  pin_to_cpu(cpu);
}

scoped_pin::~scoped_pin() {
  if (restore_) {
    pthread_setaffinity_np(pthread_self(), sizeof saved_, &saved_);
  }
}

double placement_probe() {
  constexpr int round_trips = 20000;
  alignas(128) std::atomic<int> ball{0};
  std::thread other{[&] {
    pin_to_cpu(1);
    for (int i = 0; i < round_trips; ++i) {
      while (ball.load(std::memory_order_acquire) != 2 * i + 1) {
      }
      ball.store(2 * i + 2, std::memory_order_release);
    }
  }};
  const scoped_pin pin{0};
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < round_trips; ++i) {
    ball.store(2 * i + 1, std::memory_order_release);
    while (ball.load(std::memory_order_acquire) != 2 * i + 2) {
    }
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  other.join();
  return std::chrono::duration<double, std::nano>(elapsed).count() / round_trips;
}

int run_main(int argc, char** argv, const std::vector<bench_case>& cases) {
  const options o = parse(argc, argv);
  if (o.child >= 0) {
    if (static_cast<std::size_t>(o.child) >= cases.size()) {
      return 2;
    }
    std::puts(serialize(run_here(cases[static_cast<std::size_t>(o.child)], o.scale)).c_str());
    return 0;
  }

  std::vector<std::size_t> selected;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string name = cases[i].workload + " " + cases[i].impl;
    if (o.filter.empty() || name.find(o.filter) != std::string::npos) {
      selected.push_back(i);
    }
  }
  if (o.list) {
    for (std::size_t i : selected) {
      fmt::print("{:<32} {}\n", cases[i].workload, cases[i].impl);
    }
    return 0;
  }
  if (!o.json) {
    fmt::print("{} cases x {} repetitions, scale {}, {} (interleaved, CPUs 0 and 1; far = probe >= {} ns)\n",
               selected.size(), o.reps, o.scale, o.in_process ? "in process" : "one process per run",
               far_threshold_ns);
  }

  std::map<std::size_t, std::vector<sample>> samples;
  bool failed = false;
  const bool progress = isatty(STDERR_FILENO) != 0;  // a \r progress line only where it redraws
  for (int rep = 0; rep < o.reps; ++rep) {
    for (std::size_t i : selected) {
      const bench_case& c = cases[i];
      std::optional<sample> s = o.in_process ? std::optional<sample>{run_here(c, o.scale)}
                                             : run_child(argv[0], static_cast<int>(i), o.scale);
      if (!s || !s->r.verified) {
        fmt::print(stderr, "bench: {} / {} repetition {} {}\n", c.workload, c.impl, rep,
                   s ? "FAILED its own verification" : "crashed");
        // A peer that loses messages is a finding to report, not a failure of this run.
        failed = failed || c.who != role::peer;
        continue;
      }
      samples[i].push_back(*s);
      if (o.json) {
        std::string extra;
        for (const auto& [k, v] : s->r.extra) {
          extra += fmt::format(", \"{}\": {}", k, v);
        }
        fmt::print(
            "{{\"workload\": \"{}\", \"impl\": \"{}\", \"role\": \"{}\", \"rep\": {}, \"value\": {}, "
            "\"unit\": \"{}\", \"higher_is_better\": {}, \"two_threads\": {}, \"placement\": \"{}\", "
            "\"probe_ns\": {:.1f}{}}}\n",
            c.workload, c.impl, role_name(c.who), rep, s->r.value, c.unit, c.higher_is_better, c.two_threads,
            placement_of(s->probe_ns), s->probe_ns, extra);
        std::fflush(stdout);
      } else if (progress) {
        fmt::print(stderr, "\r  repetition {}/{}  {:<32} {:<22}", rep + 1, o.reps, c.workload, c.impl);
      }
    }
  }
  if (!o.json) {
    if (progress) {
      fmt::print(stderr, "\r{:80}\r", "");
    }
    print_table(cases, selected, samples);
  }
  return failed ? 1 : 0;
}

}  // namespace cosync::bench
