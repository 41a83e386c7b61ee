#pragma once

// One include for Catch2 v2 (Debian 12's catch2 2.13) and v3: the tests use only the API the
// two share.
#include <string>

#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif

namespace cosync::test {

/// Matches a string (an exception message) that contains `part`: Catch2 v2 calls this
/// Contains, v3 ContainsSubstring.
inline auto contains(const std::string& part) {
#if __has_include(<catch2/catch_all.hpp>)
  return Catch::Matchers::ContainsSubstring(part);
#else
  return Catch::Matchers::Contains(part);
#endif
}

}  // namespace cosync::test
