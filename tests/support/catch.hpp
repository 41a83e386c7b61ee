#pragma once

// One include for Catch2 v2 (Debian 12's catch2 2.13) and v3: the tests use only the API the
// two share.
#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif
