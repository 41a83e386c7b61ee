#include <cosync/spsc_ring.hpp>

#include <array>
#include <cstdint>
#include <iterator>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "catch.hpp"
#include "counted.hpp"

using cosync::spsc_ring;
using cosync::test::counted;

namespace {

// Throws from its constructor when asked to, and from its copy when told to, to check that the
// ring stays consistent when element construction fails.
struct fragile {
  static inline int copies_before_throw = -1;  // -1: never throw
  int value = 0;

  explicit fragile(int v, bool fail = false) : value{v} {
    if (fail) {
      throw std::runtime_error("fragile: refused");
    }
  }
  fragile(const fragile& other) : value{other.value} {
    if (copies_before_throw == 0) {
      throw std::runtime_error("fragile: copy refused");
    }
    if (copies_before_throw > 0) {
      --copies_before_throw;
    }
  }
  fragile(fragile&&) noexcept = default;
  fragile& operator=(const fragile&) = default;
  fragile& operator=(fragile&&) noexcept = default;
};

// An output iterator whose assignment throws after a number of successful ones.
struct throwing_sink {
  using difference_type = std::ptrdiff_t;
  std::vector<int>* received;
  int* assignments_left;

  const throwing_sink& operator*() const { return *this; }
  throwing_sink& operator++() { return *this; }
  throwing_sink operator++(int) { return *this; }
  const throwing_sink& operator=(int&& value) const {
    if ((*assignments_left)-- == 0) {
      throw std::runtime_error("sink full");
    }
    received->push_back(value);
    return *this;
  }
};

}  // namespace

TEST_CASE("a ring's capacity is the request rounded up to a power of two", "[spsc_ring][unit]") {
  CHECK(spsc_ring<int>{1}.capacity() == 1);
  CHECK(spsc_ring<int>{2}.capacity() == 2);
  CHECK(spsc_ring<int>{3}.capacity() == 4);
  CHECK(spsc_ring<int>{1000}.capacity() == 1024);
  CHECK(spsc_ring<int>{1024}.capacity() == 1024);
  CHECK(spsc_ring<int>{1025}.capacity() == 2048);
}

TEST_CASE("a capacity of zero throws cosync::capacity_error with a message", "[spsc_ring][unit]") {
  CHECK_THROWS_AS(spsc_ring<int>{0}, cosync::capacity_error);
  CHECK_THROWS_WITH(spsc_ring<int>{0}, cosync::test::contains("capacity must be at least 1"));
}

TEST_CASE("a capacity whose buffer cannot be represented throws cosync::capacity_error",
          "[spsc_ring][unit]") {
  using big = std::array<char, 4096>;
  const std::size_t too_many = spsc_ring<big>::max_capacity() + 1;
  CHECK_THROWS_AS(spsc_ring<big>{too_many}, cosync::capacity_error);
  CHECK_THROWS_WITH(spsc_ring<big>{too_many}, cosync::test::contains("exceeds max_capacity()"));
  CHECK_THROWS_AS(spsc_ring<int>{~std::size_t{0}}, cosync::capacity_error);
  CHECK(spsc_ring<big>::max_capacity() * sizeof(big) <= static_cast<std::size_t>(PTRDIFF_MAX));
}

TEST_CASE("elements come out in the order they went in", "[spsc_ring][unit]") {
  spsc_ring<int> ring{16};
  for (int i = 0; i < 10; ++i) {
    REQUIRE(ring.try_push(i));
  }
  for (int i = 0; i < 10; ++i) {
    int out = -1;
    REQUIRE(ring.try_pop(out));
    CHECK(out == i);
  }
}

TEST_CASE("a ring holds exactly capacity elements, then refuses the next", "[spsc_ring][unit]") {
  spsc_ring<int> ring{8};
  for (int i = 0; i < 8; ++i) {
    REQUIRE(ring.try_push(i));
  }
  CHECK_FALSE(ring.try_push(8));
  CHECK(ring.size_approx() == 8);
  int out = -1;
  REQUIRE(ring.try_pop(out));
  CHECK(out == 0);
  CHECK(ring.try_push(8));  // one slot freed, exactly one push fits
  CHECK_FALSE(ring.try_push(9));
}

TEST_CASE("a capacity-1 ring alternates between full and empty", "[spsc_ring][unit]") {
  spsc_ring<int> ring{1};
  for (int i = 0; i < 100; ++i) {
    REQUIRE(ring.try_push(i));
    REQUIRE_FALSE(ring.try_push(-1));
    REQUIRE(ring.try_pop() == i);
    REQUIRE_FALSE(ring.try_pop().has_value());
  }
}

TEST_CASE("popping an empty ring fails and leaves the output untouched", "[spsc_ring][unit]") {
  spsc_ring<int> ring{4};
  int out = 7;
  CHECK_FALSE(ring.try_pop(out));
  CHECK(out == 7);
  CHECK_FALSE(ring.try_pop().has_value());
  CHECK(ring.front() == nullptr);
  CHECK(ring.empty_approx());
  REQUIRE(ring.try_push(1));
  REQUIRE(ring.try_pop(out));
  CHECK_FALSE(ring.try_pop(out));  // empty again after draining
  CHECK(out == 1);
}

TEST_CASE("order holds across thousands of wrap-arounds at every fill level", "[spsc_ring][unit]") {
  spsc_ring<std::uint64_t> ring{8};
  std::uint64_t next_in = 0;
  std::uint64_t next_out = 0;
  for (int lap = 0; lap < 20000; ++lap) {
    const int fill = 1 + lap % 8;  // 1..8 elements per lap, so the offsets drift around the ring
    for (int i = 0; i < fill; ++i) {
      REQUIRE(ring.try_push(next_in++));
    }
    CHECK(ring.size_approx() == static_cast<std::size_t>(fill));
    for (int i = 0; i < fill; ++i) {
      auto value = ring.try_pop();
      REQUIRE(value.has_value());
      REQUIRE(*value == next_out++);
    }
  }
  CHECK(next_in > 8 * 10000);
  CHECK(ring.empty_approx());
}

TEST_CASE("front reads the oldest element in place and pop removes it", "[spsc_ring][unit]") {
  spsc_ring<std::string> ring{4};
  REQUIRE(ring.try_push(std::string(100, 'a')));
  REQUIRE(ring.try_push(std::string("b")));
  std::string* first = ring.front();
  REQUIRE(first != nullptr);
  CHECK(*first == std::string(100, 'a'));
  CHECK(ring.front() == first);  // no copy, no consumption
  ring.pop();
  REQUIRE(ring.front() != nullptr);
  CHECK(*ring.front() == "b");
  ring.pop();
  CHECK(ring.front() == nullptr);
}

TEST_CASE("try_emplace constructs the element in place from its arguments", "[spsc_ring][unit]") {
  spsc_ring<std::string> ring{2};
  REQUIRE(ring.try_emplace("one"));
  REQUIRE(ring.try_emplace(std::size_t{3}, 'x'));
  CHECK_FALSE(ring.try_emplace("three"));
  CHECK(ring.try_pop() == "one");
  CHECK(ring.try_pop() == "xxx");
}

TEST_CASE("move-only elements go through the ring", "[spsc_ring][unit]") {
  spsc_ring<std::unique_ptr<int>> ring{4};
  REQUIRE(ring.try_push(std::make_unique<int>(1)));
  REQUIRE(ring.try_emplace(new int{2}));
  std::unique_ptr<int> out;
  REQUIRE(ring.try_pop(out));
  CHECK(*out == 1);
  auto second = ring.try_pop();
  REQUIRE(second.has_value());
  CHECK(**second == 2);
}

TEST_CASE("a refused move-only push leaves the caller's value intact", "[spsc_ring][unit]") {
  spsc_ring<std::unique_ptr<int>> ring{1};
  REQUIRE(ring.try_push(std::make_unique<int>(1)));
  auto keep = std::make_unique<int>(2);
  CHECK_FALSE(ring.try_push(std::move(keep)));
  REQUIRE(keep != nullptr);
  CHECK(*keep == 2);
}

TEST_CASE("try_push_n pushes what fits and says how many", "[spsc_ring][unit]") {
  spsc_ring<int> ring{8};
  std::vector<int> input(20);
  std::iota(input.begin(), input.end(), 0);

  CHECK(ring.try_push_n(input.begin(), 5) == 5);
  CHECK(ring.try_push_n(std::span<const int>{input}.subspan(5)) == 3);  // only 3 slots left
  CHECK(ring.try_push_n(input.begin(), 4) == 0);
  CHECK(ring.size_approx() == 8);

  std::array<int, 8> out{};
  CHECK(ring.try_pop_n(std::span<int>{out}) == 8);
  for (int i = 0; i < 8; ++i) {
    CHECK(out[static_cast<std::size_t>(i)] == i);
  }
}

TEST_CASE("try_pop_n takes at most max and at most what is there", "[spsc_ring][unit]") {
  spsc_ring<int> ring{16};
  std::vector<int> received;
  int next = 0;
  // Offsets drift so that bulk operations straddle the end of the buffer many times.
  for (int lap = 0; lap < 500; ++lap) {
    std::vector<int> batch(static_cast<std::size_t>(1 + lap % 13));
    for (int& value : batch) {
      value = next++;
    }
    REQUIRE(ring.try_push_n(std::span<const int>{batch}) == batch.size());
    const std::size_t max = 1 + static_cast<std::size_t>(lap % 5);
    std::size_t taken = 0;
    while (std::size_t n = ring.try_pop_n(std::back_inserter(received), max)) {
      REQUIRE(n <= max);
      taken += n;
    }
    REQUIRE(taken == batch.size());
  }
  REQUIRE(received.size() == static_cast<std::size_t>(next));
  for (std::size_t i = 0; i < received.size(); ++i) {
    REQUIRE(received[i] == static_cast<int>(i));
  }
  std::array<int, 4> out{};
  CHECK(ring.try_pop_n(std::span<int>{out}) == 0);
}

TEST_CASE("bulk operations move move-only elements", "[spsc_ring][unit]") {
  spsc_ring<std::unique_ptr<int>> ring{4};
  std::vector<std::unique_ptr<int>> input;
  for (int i = 0; i < 6; ++i) {
    input.push_back(std::make_unique<int>(i));
  }
  CHECK(ring.try_push_n(std::make_move_iterator(input.begin()), input.size()) == 4);
  CHECK(input[3] == nullptr);
  CHECK(input[4] != nullptr);  // not taken: the ring was full
  std::vector<std::unique_ptr<int>> output;
  CHECK(ring.try_pop_n(std::back_inserter(output), 10) == 4);
  REQUIRE(output.size() == 4);
  CHECK(*output[0] == 0);
  CHECK(*output[3] == 3);
}

TEST_CASE("every element is destroyed exactly once, including leftovers", "[spsc_ring][unit]") {
  counted::reset();
  {
    spsc_ring<counted> ring{8};
    for (std::uint64_t i = 0; i < 6; ++i) {
      REQUIRE(ring.try_emplace(i));
    }
    counted out;
    REQUIRE(ring.try_pop(out));
    CHECK(out.value() == 0);
    auto second = ring.try_pop();
    REQUIRE(second.has_value());
    CHECK(second->value() == 1);
    ring.pop();                           // destroys element 2 in place
    CHECK(counted::live() == 1 + 1 + 3);  // out, *second, and three still in the ring
    std::array<counted, 2> bulk_out;
    CHECK(ring.try_pop_n(std::span<counted>{bulk_out}) == 2);
    CHECK(bulk_out[1].value() == 4);
    // Refill across the wrap point, then let the destructor clean up.
    std::array<counted, 7> bulk_in{counted{10}, counted{11}, counted{12}, counted{13},
                                   counted{14}, counted{15}, counted{16}};
    CHECK(ring.try_push_n(std::span<const counted>{bulk_in}) == 7);
    CHECK(ring.size_approx() == 8);
  }
  CHECK(counted::live() == 0);
}

TEST_CASE("a throwing constructor leaves the ring unchanged", "[spsc_ring][unit]") {
  spsc_ring<fragile> ring{4};
  REQUIRE(ring.try_emplace(1));
  CHECK_THROWS_AS(ring.try_emplace(2, true), std::runtime_error);
  CHECK(ring.size_approx() == 1);
  REQUIRE(ring.try_emplace(3));
  CHECK(ring.try_pop()->value == 1);
  CHECK(ring.try_pop()->value == 3);
  CHECK_FALSE(ring.try_pop().has_value());
}

TEST_CASE("a throwing copy in try_push_n publishes the elements before it", "[spsc_ring][unit]") {
  spsc_ring<fragile> ring{8};
  const std::vector<fragile> input{fragile{0}, fragile{1}, fragile{2}, fragile{3}};
  fragile::copies_before_throw = 2;
  CHECK_THROWS_AS(ring.try_push_n(std::span<const fragile>{input}), std::runtime_error);
  fragile::copies_before_throw = -1;
  REQUIRE(ring.size_approx() == 2);
  CHECK(ring.try_pop()->value == 0);
  CHECK(ring.try_pop()->value == 1);
  CHECK_FALSE(ring.try_pop().has_value());
}

TEST_CASE("a throwing output in try_pop_n keeps the element it failed on", "[spsc_ring][unit]") {
  spsc_ring<int> ring{8};
  for (int i = 0; i < 5; ++i) {
    REQUIRE(ring.try_push(i));
  }
  std::vector<int> received;
  int assignments_left = 2;
  CHECK_THROWS_AS(ring.try_pop_n(throwing_sink{&received, &assignments_left}, 5), std::runtime_error);
  CHECK(received == std::vector<int>{0, 1});
  CHECK(ring.size_approx() == 3);
  CHECK(ring.try_pop() == 2);
}

TEST_CASE("the ring's indices and cached indices sit on separate cache lines", "[spsc_ring][unit]") {
  // The layout is also pinned by static_asserts inside the class; this checks the whole object.
  CHECK(alignof(spsc_ring<int>) == cosync::cache_line_size);
  CHECK(sizeof(spsc_ring<int>) == 5 * cosync::cache_line_size);
  CHECK(sizeof(spsc_ring<std::array<char, 3>>) == 5 * cosync::cache_line_size);
}
