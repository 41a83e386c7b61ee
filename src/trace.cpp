#include "trace.hpp"

#include <cosync/detail/trace_hooks.hpp>

#include <cxxabi.h>
#include <dlfcn.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

namespace cosync::detail {
namespace {

std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// An event's time. On x86 the time-stamp counter: a few cycles to read and invariant on every
// CPU this targets (constant_tsc), where steady_clock's clock_gettime costs ~30 ns on a VM — most
// of an event's cost. Ticks become nanoseconds when the file is written, from readings of both
// clocks taken at the recorder's start and at the write. Elsewhere, steady_clock itself.
std::uint64_t trace_clock() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#else
  return static_cast<std::uint64_t>(now_ns());
#endif
}

/// Labels given at spawn, interned for the life of the process (the events point at them; a
/// program labels a handful of kinds of coroutine, not one per coroutine).
const char* intern(std::string_view label) {
  static std::mutex mutex;
  static std::set<std::string, std::less<>> labels;
  const std::lock_guard lock{mutex};
  auto it = labels.find(label);
  if (it == labels.end()) {
    it = labels.emplace(label).first;
  }
  return it->c_str();
}

/// A coroutine's name from its resume function: the function's name where the dynamic symbol
/// table has it (an exported function; link with -rdynamic), else `module+offset` for addr2line.
std::string name_of(const void* resume_fn) {
  Dl_info info{};
  if (resume_fn == nullptr || dladdr(resume_fn, &info) == 0) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "coroutine %p", resume_fn);
    return hex;
  }
  if (info.dli_sname != nullptr) {
    int status = 0;
    char* demangled = abi::__cxa_demangle(info.dli_sname, nullptr, nullptr, &status);
    std::string name = status == 0 && demangled != nullptr ? demangled : info.dli_sname;
    std::free(demangled);  // NOLINT(cppcoreguidelines-no-malloc): __cxa_demangle's contract
    // "f(int) [clone .actor]" → "f": the parameters and GCC's clone suffix only add noise.
    if (const auto paren = name.find('('); paren != std::string::npos && paren != 0) {
      name.resize(paren);
    }
    return name;
  }
  const char* module = info.dli_fname != nullptr ? std::strrchr(info.dli_fname, '/') : nullptr;
  module = module != nullptr ? module + 1 : (info.dli_fname != nullptr ? info.dli_fname : "?");
  char offset[64];
  std::snprintf(offset, sizeof offset, "+0x%zx",
                static_cast<std::size_t>(static_cast<const char*>(resume_fn) -
                                         static_cast<const char*>(info.dli_fbase)));
  return std::string{module} + offset;
}

void write_escaped(std::FILE* out, std::string_view text) {
  std::fputc('"', out);
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      std::fputc('\\', out);
      std::fputc(c, out);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      std::fprintf(out, "\\u%04x", static_cast<unsigned>(c));
    } else {
      std::fputc(c, out);
    }
  }
  std::fputc('"', out);
}

}  // namespace

// ---------------------------------------------------------------- trace_buffer

trace_buffer::trace_buffer(std::size_t executor, std::size_t capacity)
    : events_(std::max<std::size_t>(capacity, 1)), executor_{executor} {}

void trace_buffer::record(trace_kind kind, const void* frame, const void* detail,
                          std::uint32_t target) noexcept {
  events_[recorded_ % events_.size()] = trace_event{trace_clock(), frame, detail, target, kind};
  ++recorded_;
}

std::vector<trace_event> trace_buffer::events() const {
  std::vector<trace_event> out;
  const std::size_t kept = static_cast<std::size_t>(std::min<std::uint64_t>(recorded_, events_.size()));
  out.reserve(kept);
  for (std::uint64_t i = recorded_ - kept; i < recorded_; ++i) {
    out.push_back(events_[i % events_.size()]);
  }
  return out;
}

std::uint64_t trace_buffer::dropped() const noexcept {
  return recorded_ > events_.size() ? recorded_ - events_.size() : 0;
}

// ---------------------------------------------------------------- trace_recorder

trace_recorder::trace_recorder(std::string path, std::size_t executors, std::size_t events_per_executor)
    : path_{std::move(path)}, origin_ticks_{trace_clock()}, origin_ns_{now_ns()} {
  buffers_.reserve(executors);
  for (std::size_t i = 0; i < executors; ++i) {
    buffers_.push_back(std::make_unique<trace_buffer>(i, events_per_executor));
  }
}

void trace_recorder::write() const noexcept {
  try {
    std::FILE* out = std::fopen(path_.c_str(), "w");
    if (out == nullptr) {
      std::fprintf(stderr, "cosync: cannot write the trace to %s: %s\n", path_.c_str(), std::strerror(errno));
      return;
    }
    write_to(out);
    if (std::fclose(out) != 0) {
      std::fprintf(stderr, "cosync: cannot write the trace to %s: %s\n", path_.c_str(), std::strerror(errno));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cosync: cannot write the trace to %s: %s\n", path_.c_str(), e.what());
  }
}

// Replays every executor's events in time order. A run's slice opens at run_begin and closes at
// its run_end (a pair cut in two by the buffer's wrap-around is dropped whole). A wake recorded
// inside a run starts a flow, which ends at the woken coroutine's next run: "hop" when a coroutine
// moved itself to another executor, "yield" when it requeued itself, "wake" when another coroutine
// made it ready (a value handed to a parked receiver, a lock released).
void trace_recorder::write_to(std::FILE* out) const {
  struct tagged {
    trace_event event;
    std::size_t executor;
  };
  std::vector<tagged> all;
  std::uint64_t dropped = 0;
  for (const auto& buffer : buffers_) {
    for (const trace_event& e : buffer->events()) {
      all.push_back({e, buffer->executor()});
    }
    dropped += buffer->dropped();
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const tagged& a, const tagged& b) { return a.event.at < b.event.at; });

  std::fprintf(out,
               "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"executors\":%zu,\"dropped_events\":%llu},\n",
               buffers_.size(), static_cast<unsigned long long>(dropped));
  std::fputs("\"traceEvents\":[\n", out);
  std::fputs(R"({"ph":"M","name":"process_name","pid":1,"tid":0,"args":{"name":"cosync runtime"}})", out);
  for (std::size_t i = 0; i < buffers_.size(); ++i) {
    std::fprintf(out,
                 ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":%zu,\"args\":{\"name\":"
                 "\"executor %zu\"}}",
                 i, i);
    std::fprintf(out,
                 ",\n{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":1,\"tid\":%zu,\"args\":{\"sort_"
                 "index\":%zu}}",
                 i, i);
  }
  // Ticks to µs since the start: the ticks per nanosecond measured over the recorder's life.
  const std::uint64_t end_ticks = trace_clock();
  const std::int64_t end_ns = now_ns();
  const double ns_per_tick =
      end_ticks > origin_ticks_ && end_ns > origin_ns_
          ? static_cast<double>(end_ns - origin_ns_) / static_cast<double>(end_ticks - origin_ticks_)
          : 1.0;
  const auto us = [&](std::uint64_t at) {
    return static_cast<double>(static_cast<std::int64_t>(at - origin_ticks_)) * ns_per_tick / 1000.0;
  };
  const auto head = [&](const char* ph, std::string_view name, std::size_t tid, std::uint64_t at) {
    std::fprintf(out, ",\n{\"ph\":\"%s\",\"pid\":1,\"tid\":%zu,\"ts\":%.3f,\"name\":", ph, tid, us(at));
    write_escaped(out, name);
  };

  struct open_run {
    bool open = false;
    const void* frame = nullptr;
    std::uint64_t at = 0;
  };
  struct pending_flow {
    std::size_t from;
    std::uint64_t at;
    bool moved;  // the run made itself ready (switch_to, yield), rather than another coroutine
  };
  std::vector<open_run> running(buffers_.size());
  std::unordered_map<const void*, const char*> labels;
  std::unordered_map<const void*, pending_flow> flows;
  std::unordered_map<const void*, std::string> names;  // resume function → its name
  std::uint64_t next_flow = 1;

  for (const auto& [e, tid] : all) {
    switch (e.kind) {
      case trace_kind::run_begin: {
        std::string name;
        if (const auto label = labels.find(e.frame); label != labels.end()) {
          name = label->second;
        } else {
          auto known = names.find(e.detail);
          if (known == names.end()) {
            known = names.emplace(e.detail, name_of(e.detail)).first;
          }
          name = known->second;
        }
        head("B", name, tid, e.at);
        std::fprintf(out, ",\"cat\":\"run\",\"args\":{\"coroutine\":\"%p\"}}", e.frame);
        running[tid] = {true, e.frame, e.at};
        if (const auto flow = flows.find(e.frame); flow != flows.end()) {
          const char* flow_name = !flow->second.moved ? "wake" : flow->second.from != tid ? "hop" : "yield";
          head("s", flow_name, flow->second.from, flow->second.at);
          std::fprintf(out, ",\"cat\":\"flow\",\"id\":%llu}", static_cast<unsigned long long>(next_flow));
          head("f", flow_name, tid, e.at);
          std::fprintf(out, ",\"cat\":\"flow\",\"bp\":\"e\",\"id\":%llu}",
                       static_cast<unsigned long long>(next_flow));
          ++next_flow;
          flows.erase(flow);
        }
        break;
      }
      case trace_kind::run_end:
        if (running[tid].open) {
          head("E", "", tid, e.at);
          std::fputs(",\"cat\":\"run\"}", out);
          running[tid].open = false;
        }
        break;
      case trace_kind::park:
        head("i", std::string{"park: "} + static_cast<const char*>(e.detail), tid, e.at);
        std::fprintf(out, ",\"cat\":\"wait\",\"s\":\"t\",\"args\":{\"coroutine\":\"%p\"}}", e.frame);
        break;
      case trace_kind::wake:
        head("i", "wake", tid, e.at);
        std::fprintf(out, ",\"cat\":\"wait\",\"s\":\"t\",\"args\":{\"coroutine\":\"%p\",\"to executor\":%u}}",
                     e.frame, e.target);
        if (running[tid].open) {  // woken by a run (not by a timer or the loop): an arrow from it
          flows[e.frame] = pending_flow{tid, e.at, e.frame == running[tid].frame};
        }
        break;
      case trace_kind::cancel:
        head("i", "cancel", tid, e.at);
        std::fprintf(out, ",\"cat\":\"wait\",\"s\":\"t\",\"args\":{\"coroutine\":\"%p\"}}", e.frame);
        break;
      case trace_kind::label:
        labels[e.frame] = static_cast<const char*>(e.detail);
        break;
      case trace_kind::frame_end:
        labels.erase(e.frame);
        flows.erase(e.frame);
        break;
    }
  }
  for (std::size_t tid = 0; tid < running.size(); ++tid) {
    if (running[tid].open) {  // not expected (a run ends before its executor stops): closed anyway
      head("E", "", tid, running[tid].at);
      std::fputs(",\"cat\":\"run\"}", out);
    }
  }
  std::fputs("\n]}\n", out);
}

// ---------------------------------------------------------------- detail/trace_hooks.hpp

void trace_park(const void* frame, const char* what) noexcept {
  if (trace_buffer* buffer = this_thread_trace; buffer != nullptr) {
    buffer->record(trace_kind::park, frame, what);
  }
}

void trace_cancel(const void* frame) noexcept {
  if (trace_buffer* buffer = this_thread_trace; buffer != nullptr) {
    buffer->record(trace_kind::cancel, frame);
  }
}

void trace_label(const void* frame, std::string_view label) {
  if (trace_buffer* buffer = this_thread_trace; buffer != nullptr) {
    buffer->record(trace_kind::label, frame, intern(label));
  }
}

void trace_frame_end(const void* frame) noexcept {
  if (trace_buffer* buffer = this_thread_trace; buffer != nullptr) {
    buffer->record(trace_kind::frame_end, frame);
  }
}

}  // namespace cosync::detail
