#pragma once
// The loop's side of testing::mock_clock: binding, and what autojump needs while the loop
// is idle. Loop thread only, except where noted.

#include <anyio/detail/runtime.hpp>
#include <anyio/testing/mock_clock.hpp>

#include <chrono>

namespace anyio::detail {

// How an idle loop waits for its next deadline under a mock clock.
struct idle_wait {
    // Real time to wait in poll; negative: until something happens.
    std::chrono::nanoseconds timeout{-1};
    // If the wait ends with nothing having happened, jump to the deadline...
    bool autojump = false;
    // ...provided the real clock has reached this (a poll cut short by a foreign signal
    // handler returns early with nothing to show).
    std::chrono::steady_clock::time_point not_before{};
};

struct mock_clock_access {
    // std::logic_error if the clock already drives a loop.
    static void bind(testing::mock_clock& c, loop& l);
    // Any thread may still call the clock's members afterwards; none reaches the loop.
    static void unbind(testing::mock_clock& c) noexcept;
    // The loop is idle and `deadline` is its next one.
    static idle_wait plan(const testing::mock_clock& c, clock::time_point deadline) noexcept;
    // Autojump: virtual time becomes `deadline` unless it is already later.
    static void advance_to(testing::mock_clock& c, clock::time_point deadline) noexcept;
};

}  // namespace anyio::detail
