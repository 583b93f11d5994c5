#pragma once
// Whether the loop's first deadline may have come, at a quarter of the cost of reading the
// clock: a loop that keeps tasks ready (checkpoints, fast I/O) asks once per turn, and with
// a timer pending far ahead (a watchdog, a sleeper, a long deadline) a full clock read was
// most of a turn's cost (bench/service_notify: 19 ns per checkpoint alone, 65 ns next to a
// sleeper).
//
// CLOCK_MONOTONIC_COARSE is the monotonic clock (CLOCK_MONOTONIC, std::chrono::
// steady_clock's on Linux) as of the last tick: never ahead of it, and behind by at most
// one tick while a CPU runs this thread (a running CPU's tick keeps time). So while it
// reads more than two ticks before the deadline, the deadline has not come; otherwise the
// loop reads the precise clock as before. A deadline is never fired early, and is noticed
// at the same turn as with the precise clock alone unless a tick comes more than a tick
// late (a virtual CPU descheduled), and then at the turn after that late tick (an idle loop
// meanwhile polls without blocking: a short spin, never a hang).

#include <anyio/detail/runtime.hpp>

#include <chrono>
#include <ctime>

namespace anyio::detail {

class due_check {
public:
    due_check() noexcept {
        timespec resolution{};
        if (::clock_getres(CLOCK_MONOTONIC_COARSE, &resolution) == 0) {
            margin_ = 2 * (std::chrono::seconds(resolution.tv_sec) +
                           std::chrono::nanoseconds(resolution.tv_nsec));
        }
    }

    // False only if `deadline` has certainly not come yet.
    [[nodiscard]] bool may_have_come(clock::time_point deadline) const noexcept {
        timespec now{};
        if (::clock_gettime(CLOCK_MONOTONIC_COARSE, &now) != 0) return true;
        const clock::time_point coarse(std::chrono::seconds(now.tv_sec) +
                                       std::chrono::nanoseconds(now.tv_nsec));
        return deadline - coarse <= margin_;
    }

private:
    clock::duration margin_ = clock::duration::max();  // unknown resolution: always read
};

}  // namespace anyio::detail
