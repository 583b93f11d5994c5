#pragma once
// Test support: run a coroutine body on a fresh loop under a hang guard, on real or on
// virtual time (anyio::testing::run_test).

#include <anyio/anyio.hpp>
#include <anyio/testing.hpp>

#include <utility>

namespace anyio_test {

// Runs `body` under run_test's hang guard (60 s of real time), so that a lost wake-up fails
// the test (hang_guard_expired, which GoogleTest reports) instead of hanging it: a hang
// guard, never a speed assertion.
template <class F>
void run_guarded(F body) {
    anyio::testing::run_test(std::move(body));
}

// The same on virtual time: a mock clock that jumps to the next deadline whenever every
// task is blocked, so sleeps and timeouts take no real time and their timings are exact.
// For tests of timeout logic; not for tests that wait for a worker thread or another
// process, whose progress the clock does not wait for.
template <class F>
void run_autojump(F body) {
    anyio::testing::mock_clock clock(anyio::testing::autojump);
    anyio::testing::run_test(std::move(body), {.clock = &clock});
}

// A few scheduling rounds, so that tasks woken or started just now reach their next
// blocking point before the test looks.
inline anyio::task<> settle() {
    for (int i = 0; i < 5; ++i)
        co_await anyio::checkpoint();
}

}  // namespace anyio_test
