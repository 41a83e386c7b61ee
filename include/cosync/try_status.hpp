#pragma once

/// cosync::try_status: what a channel's non-blocking try_send / try_recv did.

namespace cosync {

/// Why a try_send or try_recv did or did not transfer a value.
enum class try_status {
  ok,      ///< the value was transferred
  full,    ///< try_send: no room now (and, at capacity 0, no receiver waiting)
  empty,   ///< try_recv: nothing to take now
  closed,  ///< try_send: the channel is closed; try_recv: closed and drained
};

}  // namespace cosync
