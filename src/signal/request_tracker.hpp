#pragma once
// "One request is one signal": coreutils `timeout` sends SIGTERM to its child and then to
// the child's process group, so the child often gets two SIGTERMs from one sender a
// fraction of a millisecond apart; a terminal's Ctrl+C reaches every process of the
// foreground group. Deliveries of the same signal from the same sender (pid, uid,
// si_code) within a window that opens at the first of them are one request; the second-
// signal policies (run's force exit, a server's "second SIGTERM ends the grace period")
// count requests, receivers still count every delivery. Written only by signal handlers
// under handler_lock, so plain fields suffice.

#include "signal/sender_record.hpp"

#include <array>
#include <atomic>
#include <csignal>
#include <cstdint>

#include <time.h>

namespace anyio::detail::signals {

// Nanoseconds; set by anyio::set_signal_request_window, read by handlers.
inline std::atomic<std::int64_t> request_window_ns{50'000'000};

class request_tracker {
public:
    // True if this delivery repeats the request that opened the current window of `signo`.
    // Handler only, under handler_lock. clock_gettime is async-signal-safe.
    bool is_repeat(int signo, const sender& from) noexcept {
        ::timespec now{};
        ::clock_gettime(CLOCK_MONOTONIC, &now);
        const std::int64_t now_ns = std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
        last& l = last_[static_cast<std::size_t>(signo)];
        const bool repeat =
            l.valid && l.pid == from.pid && l.uid == from.uid && l.code == from.code &&
            now_ns - l.opened_ns < request_window_ns.load(std::memory_order_relaxed);
        if (!repeat) l = {true, from.pid, from.uid, from.code, now_ns};
        return repeat;
    }

    // After fork(): the child's requests are its own.
    void reset() noexcept {
        for (last& l : last_)
            l.valid = false;
    }

private:
    struct last {
        bool valid = false;
        pid_t pid = 0;
        uid_t uid = 0;
        int code = 0;
        std::int64_t opened_ns = 0;
    };
    std::array<last, _NSIG> last_{};
};

}  // namespace anyio::detail::signals
