#pragma once

// What the benchmarks that run Boost.Asio channels beside cosync share (only included when
// libboost1.81-dev is installed).

#include <boost/asio/experimental/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

#include "harness.hpp"

namespace cosync::bench {

namespace asio = boost::asio;
using asio_error = boost::system::error_code;
inline constexpr auto as_tuple_awaitable = asio::experimental::as_tuple(asio::use_awaitable);

/// Runs the producing side's io_context on CPU 0 and, for the two-thread variants, the consuming
/// side's on CPU 1 (pinned like cosync's executors); returns when both have run out of work.
inline void run_producer_consumer(asio::io_context& producer_ctx, asio::io_context& consumer_ctx,
                                  bool two_threads) {
  if (two_threads) {
    std::thread consumer{[&] {
      pin_to_cpu(1);
      consumer_ctx.run();
    }};
    const scoped_pin pin{0};
    producer_ctx.run();
    consumer.join();
  } else {
    producer_ctx.run();
  }
}

}  // namespace cosync::bench
