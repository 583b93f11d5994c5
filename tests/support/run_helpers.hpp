#pragma once
// Test support: run a coroutine body on a fresh loop under a hang guard.

#include <anyio/anyio.hpp>

#include <gtest/gtest.h>

#include <chrono>

namespace anyio_test {

// Runs `body` under a generous deadline so that a lost wake-up fails the test instead of
// hanging it: a hang guard, never a speed assertion. The guard checks cancel_called()
// rather than relying on fail_after, so it also notices an expiry whose `cancelled` was
// caught further in.
inline constexpr auto hang_guard = std::chrono::seconds(60);

template <class F>
void run_guarded(F body) {
    bool expired = false;
    anyio::run([&]() -> anyio::task<> {
        anyio::cancel_scope guard(anyio::deadline_after(hang_guard));
        co_await guard.run(body);
        expired = guard.cancel_called();
    });
    if (expired) ADD_FAILURE() << "the hang guard expired: something never woke up";
}

// A few scheduling rounds, so that tasks woken or started just now reach their next
// blocking point before the test looks.
inline anyio::task<> settle() {
    for (int i = 0; i < 5; ++i)
        co_await anyio::checkpoint();
}

}  // namespace anyio_test
