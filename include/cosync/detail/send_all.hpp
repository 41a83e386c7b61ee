#pragma once

// send_n for both channel kinds: as many values as fit without waiting (try_send_n), then one
// send that parks for room, and again.

#include <cosync/task.hpp>

#include <span>
#include <utility>

namespace cosync::detail {

template <class Channel, class T>
task<void> send_all(Channel& ch, std::span<T> values) {
  while (!values.empty()) {
    values = values.subspan(ch.try_send_n(values));
    if (!values.empty()) {
      co_await ch.send(std::move(values.front()));  // parks for room (or throws channel_closed)
      values = values.subspan(1);
    }
  }
}

}  // namespace cosync::detail
