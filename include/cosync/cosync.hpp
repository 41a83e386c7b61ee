#pragma once

/// The umbrella header: every public facility of cosync.

#include <cosync/config.hpp>
#include <cosync/spsc_ring.hpp>
