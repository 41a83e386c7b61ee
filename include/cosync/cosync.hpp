#pragma once

/// The umbrella header: every public facility of cosync.

#include <cosync/async_generator.hpp>
#include <cosync/broadcast.hpp>
#include <cosync/broadcast_result.hpp>
#include <cosync/cancel_scope.hpp>
#include <cosync/cancellation.hpp>
#include <cosync/channel.hpp>
#include <cosync/channel_handles.hpp>
#include <cosync/config.hpp>
#include <cosync/error.hpp>
#include <cosync/event.hpp>
#include <cosync/generator.hpp>
#include <cosync/join_handle.hpp>
#include <cosync/mutex.hpp>
#include <cosync/oneshot.hpp>
#include <cosync/runtime.hpp>
#include <cosync/select.hpp>
#include <cosync/select_set.hpp>
#include <cosync/semaphore.hpp>
#include <cosync/signal.hpp>
#include <cosync/spawn_blocking.hpp>
#include <cosync/spsc_channel.hpp>
#include <cosync/spsc_ring.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/timeout.hpp>
#include <cosync/timer.hpp>
#include <cosync/try_status.hpp>
#include <cosync/wait.hpp>
#include <cosync/wait_group.hpp>
#include <cosync/waitable.hpp>
#include <cosync/when_all.hpp>
#include <cosync/when_any.hpp>
