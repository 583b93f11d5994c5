#pragma once
// anyio::testing::run_test: runs an async test body on a fresh event loop under a hang
// guard, optionally on virtual time. For any test framework; with GoogleTest:
//
//     TEST(Poller, PollsEveryTenSeconds) {
//         anyio::testing::mock_clock clk(anyio::testing::autojump);
//         int polls = 0;
//         anyio::testing::run_test([&]() -> anyio::task<> {
//             // An hour of the poller's life, in microseconds of real time.
//             co_await anyio::move_on_after(std::chrono::seconds(3605), [&]() -> anyio::task<> {
//                 co_await poll_every(std::chrono::seconds(10), [&] { ++polls; });
//             });
//         }, {.clock = &clk});
//         EXPECT_EQ(polls, 360);
//     }
//
// In a coroutine body, await into a variable before checking it (g++ 12 miscompiles
// co_await inside EXPECT_* macros), and use EXPECT_* only: ASSERT_* returns, which a
// coroutine cannot.
//
// The hang guard turns a lost wake-up into a failed test instead of a hung test run. It
// measures real time, whatever clock the loop uses: under autojump, virtual time leaps by
// hours whenever every task waits, so a guard on virtual time would fire at the first
// idle moment of any test that outlasts it, and never catch a loop blocked forever with no
// deadline at all. When it expires, the body is cancelled, and once it has unwound
// run_test throws hang_guard_expired, a std::runtime_error, which GoogleTest (like any
// framework that catches std::exception) reports as a failure with its message. A body
// that does not unwind within `unwind_grace` of that cancellation (a shielded wait, a
// worker thread that never returns, a task that spins without a checkpoint) cannot be
// reported that way: the process prints why on stderr and aborts.
//
// The body runs as with anyio::run: a callable returning anyio::task<T>; run_test returns
// its T or rethrows its exception. Ctrl+C is handled as anyio::run handles it.

#include <anyio/run.hpp>
#include <anyio/task.hpp>
#include <anyio/testing/mock_clock.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <type_traits>

namespace anyio::testing {

// The hang guard expired (run_test).
class hang_guard_expired : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct test_options {
    // Real time after which the body is cancelled and run_test throws hang_guard_expired.
    // A guard against hangs, not a speed assertion: keep it generous (sanitizers, loaded
    // machines).
    std::chrono::nanoseconds hang_guard = std::chrono::seconds(60);
    // Real time the body has, once cancelled by the guard, to unwind before the process
    // aborts.
    std::chrono::nanoseconds unwind_grace = std::chrono::seconds(10);
    // The loop's clock (run_options::clock): nullptr for the monotonic clock.
    mock_clock* clock = nullptr;
};

}  // namespace anyio::testing

namespace anyio::detail {
// Runs `body` on a new loop of this thread under the guard (src/testing/run_test.cpp).
void run_test_on_new_loop(task<void> body, const testing::test_options& options);
}  // namespace anyio::detail

namespace anyio::testing {

template <class F>
requires task_function<F>
auto run_test(F&& body, const test_options& options = {}) -> task_result_t<F> {
    using result_t = task_result_t<F>;
    if constexpr (std::is_void_v<result_t>) {
        anyio::detail::run_test_on_new_loop(std::invoke(body), options);
    } else {
        std::optional<result_t> result;
        anyio::detail::run_test_on_new_loop(anyio::detail::store_result(std::invoke(body), result),
                                            options);
        return std::move(*result);
    }
}

}  // namespace anyio::testing
