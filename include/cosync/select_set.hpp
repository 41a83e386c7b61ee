#pragma once

/// cosync::select_set: a select over cases chosen at run time, of any types — receives and sends
/// on any channels, a timer, a default case, user-defined cases — in the manner of crossbeam's
/// `Select`.
///
///     cosync::select_set set;
///     std::vector<cosync::select_set::case_id<std::optional<int>>> inputs;
///     for (auto& ch : channels) inputs.push_back(set.add(ch.recv()));
///     auto timeout = set.add(cosync::after(50ms));
///     const std::size_t won = co_await set.select();
///     if (won == timeout.index) { ... }
///     else if (std::optional<int> v = set.take(inputs[won])) { ... }  // inputs were added first
///
/// - The same rules as select() (cosync/select.hpp): exactly one case completes, the others are
///   withdrawn having consumed and moved nothing; fair among ready cases (select()) or in the
///   order they were added (select_ordered()); a send case on a closed channel makes the await
///   throw cosync::channel_closed; cancellation as for any select.
/// - A set is selected once (it holds one-shot operations): make a new one for the next round.
///   It allocates per case (the cases are held type-erased), so prefer fixed cases or a range
///   where the shape is known at compile time.
/// - Send cases keep a value they did not send (a set is a stored select): take it back with
///   unsent(id).

#include <cosync/detail/select_engine.hpp>
#include <cosync/error.hpp>
#include <cosync/wait.hpp>

#include <coroutine>
#include <cstddef>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace cosync {

/// A select over cases added at run time, of any types (see the file comment): add() the cases,
/// then `co_await set.select()` once for the winner's index, and take() its result.
class select_set {
  // The value type of a send case (what its unsent() points at), else void.
  template <class C>
  struct sent_of {
    using type = void;
  };
  template <class C>
  requires requires(C& c) { *c.unsent(); }
  struct sent_of<C> {
    using type = std::remove_pointer_t<decltype(std::declval<C&>().unsent())>;
  };
  template <class C>
  using sent_t = typename sent_of<C>::type;

 public:
  /// A case's place in the set (its index, in the order of add()), the type of its result (`R`)
  /// and, for a send case, of the value it sends (`Sent`).
  template <class R, class Sent = void>
  struct case_id {
    /// The case's position in the set: what the select returns when it wins.
    std::size_t index;
  };

  select_set() = default;
  select_set(const select_set&) = delete;
  select_set& operator=(const select_set&) = delete;
  ~select_set() { wait_.abandon_if_parked(scratch()); }

  /// Adds a case (an operation such as ch.recv(), ch.send(v), cosync::after(d),
  /// cosync::default_case, or a user-defined one); returns its id. At most one default case.
  template <class C>
  requires select_case<detail::case_of_t<C>>
  auto add(C&& c) -> case_id<detail::select_value_t<detail::case_of_t<C>>, sent_t<detail::case_of_t<C>>> {
    using case_type = detail::case_of_t<C>;
    if (state_ != state::building) {
      throw usage_error("cosync::select_set: add after the set was selected");
    }
    if (cases_.size() == detail::max_select_cases) {
      throw usage_error("cosync::select_set: too many cases");
    }
    if (std::is_same_v<case_type, default_case_t> && has_default_) {
      throw usage_error("cosync::select_set takes at most one default_case");
    }
    has_default_ = has_default_ || std::is_same_v<case_type, default_case_t>;
    auto held = std::make_unique<holder<case_type>>(std::forward<C>(c));
    refs_.push_back(detail::case_ref::of(held->c));
    cases_.push_back(std::move(held));
    return {cases_.size() - 1};
  }

  /// How many cases were added.
  [[nodiscard]] std::size_t size() const noexcept { return cases_.size(); }

  /// The awaitable made by select() and select_ordered(): the winning case's index.
  class [[nodiscard]] awaiter {
   public:
    ///@{
    /// Awaiter protocol (called by `co_await`, not by users): starts the set's one select
    /// (usage_error if it is empty or was selected before); returns the winner's index, keeping its
    /// result for take() (a winning send on a closed channel throws cosync::channel_closed instead).
    bool await_ready() { return set_->start(order_); }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
      return set_->wait_.suspend(h, set_->scratch());
    }
    std::size_t await_resume() { return set_->finish(); }
    ///@}

   private:
    friend select_set;
    awaiter(select_set& set, select_order order) noexcept : set_{&set}, order_{order} {}
    select_set* set_;
    select_order order_;
  };

  /// Awaits the first ready case (random among ready ones). An empty set throws usage_error.
  awaiter select() noexcept { return {*this, select_order::fair}; }
  /// Like select(), but among ready cases the first added wins.
  awaiter select_ordered() noexcept { return {*this, select_order::priority}; }

  /// The winning case's result (moved out); cosync::usage_error if `id` did not win.
  template <class R, class Sent>
  R take(case_id<R, Sent> id) {
    if (state_ != state::done || id.index != winner_) {
      throw usage_error("cosync::select_set::take: that case did not win");
    }
    auto& h = static_cast<holder_with<R>&>(*cases_[id.index]);
    return std::move(*h.value);
  }

  /// A send case's value if it was not sent (it lost, or its channel was closed); null otherwise.
  template <class R, class Sent>
  requires(!std::is_void_v<Sent>) Sent* unsent(case_id<R, Sent> id) noexcept {
    return static_cast<Sent*>(cases_[id.index]->unsent());
  }

 private:
  enum class state : unsigned char { building, waiting, done };

  struct holder_base {
    virtual ~holder_base() = default;
    virtual void complete() = 0;  // the winner's result(): stored, or thrown
    virtual void* unsent() noexcept = 0;
  };
  template <class R>
  struct holder_with : holder_base {
    std::optional<R> value;
  };
  template <class C>
  using value_base = std::conditional_t<std::is_same_v<detail::select_value_t<C>, std::monostate>,
                                        holder_base, holder_with<detail::select_value_t<C>>>;
  template <class C>
  struct holder final : value_base<C> {
    template <class A>
    explicit holder(A&& a) : c(std::forward<A>(a)) {}
    void complete() override {
      if constexpr (std::is_void_v<decltype(case_access::result(c))>) {
        case_access::result(c);
      } else {
        this->value.emplace(case_access::result(c));
      }
    }
    void* unsent() noexcept override {
      if constexpr (requires { c.unsent(); }) {
        return c.unsent();
      } else {
        return nullptr;
      }
    }
    C c;
  };

  bool start(select_order order) {
    if (state_ != state::building) {
      throw usage_error("cosync::select_set: a set is selected once");
    }
    if (cases_.empty()) {
      throw usage_error("cosync::select over an empty select_set would never complete");
    }
    state_ = state::waiting;
    order_.resize(cases_.size());
    by_lock_.resize(cases_.size());
    waiters_.resize(cases_.size());
    return wait_.ready(scratch(), order);
  }

  std::size_t finish() {
    winner_ = wait_.resume(scratch());
    state_ = state::done;
    cases_[winner_]->complete();
    return winner_;
  }

  detail::select_scratch scratch() noexcept { return {refs_, order_, by_lock_, waiters_}; }

  std::vector<std::unique_ptr<holder_base>> cases_;
  std::vector<detail::case_ref> refs_;
  std::vector<std::size_t> order_;
  std::vector<detail::case_ref> by_lock_;
  std::vector<waiter> waiters_;
  detail::select_wait wait_;
  std::size_t winner_ = 0;
  state state_ = state::building;
  bool has_default_ = false;
};

}  // namespace cosync
