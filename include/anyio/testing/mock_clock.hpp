#pragma once
// anyio::testing::mock_clock: virtual time for tests of timeout logic (Trio's MockClock).
//
// A loop started with run_options::clock = &clk (or testing::run_test with
// {.clock = &clk}) takes its time from `clk` instead of the monotonic clock:
// current_time(), deadline_after(), sleep, cancel-scope deadlines and the loop's timers all
// read it. Virtual time starts at `start` and moves only
//
// - by jump(d), from any thread;
// - with real time, at `rate` virtual seconds per real second (0 by default: it stands
//   still);
// - by autojump: once every task of the loop has been blocked for autojump_threshold of
//   real time with nothing happening, the clock jumps to the loop's next deadline, so a
//   test that sleeps for an hour or waits for a 30 s timeout finishes in microseconds,
//   with every task seeing the hour pass and the events in their order.
//
//     anyio::testing::mock_clock clk(anyio::testing::autojump);
//     anyio::testing::run_test(body, {.clock = &clk});
//
// "Nothing happening" (as in Trio): no task is runnable, the loop's poll found no I/O
// readiness, and no work posted from another thread waits (a worker thread's result, a
// from_thread call, a signal, a jump). What the loop cannot see does not count: a
// to_thread worker still computing, a child process about to write, bytes on their way
// through the kernel from another process. With threshold 0 the clock jumps as soon as the
// loop is idle, even while such work is in progress, so a timeout around it can expire in
// virtual time before it completes (Trio's caveat). A threshold above 0 gives such work that
// much real time of silence before the jump; pick the smallest value that avoids false
// alarms. Work inside the loop (tasks talking through memory streams, events, locks, or a
// socketpair both of whose ends the loop serves) is always seen, whatever the threshold.
//
// One loop at a time per clock (std::logic_error otherwise); the clock must outlive the
// run. It may be reused by a later run: its time carries on from where it stood. Every
// member is thread-safe.

#include <anyio/detail/runtime.hpp>

#include <chrono>
#include <mutex>

namespace anyio::detail {
struct mock_clock_access;  // src/core/mock_clock_access.hpp: the loop's side
}  // namespace anyio::detail

namespace anyio::testing {

struct mock_clock_options {
    // Far from clock::time_point{} (which code often uses as "unset") and from both ends
    // of the range, so that now - 1h and now + 1000h stay meaningful.
    static constexpr clock::time_point default_start =
        clock::time_point(std::chrono::hours(24 * 365));

    // Not before clock::time_point{} (the monotonic clock never is).
    clock::time_point start = default_start;
    // Virtual seconds per real second; 0 freezes the clock between jumps. Not negative.
    double rate = 0.0;
    // Real time that every task must stay blocked, with nothing happening, before the
    // clock jumps to the next deadline. clock::duration::max(): never (the default).
    clock::duration autojump_threshold = clock::duration::max();
};

// The usual test clock: frozen, and jumping to the next deadline whenever every task is
// blocked.
inline constexpr mock_clock_options autojump{.autojump_threshold = clock::duration::zero()};

class mock_clock {
public:
    // std::invalid_argument for a start before the epoch, a negative or NaN rate, or a
    // negative threshold.
    explicit mock_clock(const mock_clock_options& options = {});
    mock_clock(const mock_clock&) = delete;
    mock_clock& operator=(const mock_clock&) = delete;
    ~mock_clock() = default;

    // The virtual time now.
    [[nodiscard]] clock::time_point now() const noexcept;

    // Moves virtual time forward by `d` (std::invalid_argument if negative). Timers and
    // deadlines that it passes fire at the loop's next turn, in deadline order; a loop
    // blocked in its poll is woken.
    void jump(clock::duration d);

    [[nodiscard]] double rate() const noexcept;
    // From now on, virtual time runs at `rate` virtual seconds per real second.
    void set_rate(double rate);

    [[nodiscard]] clock::duration autojump_threshold() const noexcept;
    // Takes effect at once, also while the loop is blocked in its poll.
    void set_autojump_threshold(clock::duration threshold);

private:
    friend struct detail::mock_clock_access;
    using real_clock = std::chrono::steady_clock;

    // The virtual time at real time `real`; mutex_ held.
    [[nodiscard]] clock::time_point at(real_clock::time_point real) const noexcept;
    // Makes (real, virtual) the new base of the rate; mutex_ held.
    void rebase(real_clock::time_point real, clock::time_point virtual_now) noexcept;
    // Lets the bound loop recompute its poll timeout; mutex_ held.
    void wake_loop() const noexcept;

    mutable std::mutex mutex_;
    // When the real clock read real_base_, virtual time was virtual_base_; it has since
    // advanced at rate_.
    clock::time_point virtual_base_;
    real_clock::time_point real_base_;
    double rate_ = 0.0;
    clock::duration threshold_ = clock::duration::max();
    detail::loop* loop_ = nullptr;  // the loop the clock drives, if any
};

}  // namespace anyio::testing
