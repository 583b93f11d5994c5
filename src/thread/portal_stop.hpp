#pragma once
// Whether a blocking portal is stopping, and why: stop() on any thread, or (the portal of
// run_with_portal) a termination signal handled on the portal's loop. Read by every
// thread: calls refused, running(), wait_for_stop(), the errors' messages.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace anyio::detail {

class portal_stop_state {
public:
    // Records a stop request; `signo` is the signal behind it (0: stop()). The first
    // signal stays. Wakes every waiter. Any thread.
    void request(int signo);
    [[nodiscard]] bool requested() const noexcept { return requested_.load(); }
    // The first signal that stopped the portal, or 0.
    [[nodiscard]] int signal() const noexcept { return signo_.load(); }
    // Blocks until a request; returns signal().
    int wait() const;
    // Blocks until a request or `deadline`; true if requested.
    bool wait_until(std::chrono::steady_clock::time_point deadline) const;

private:
    mutable std::mutex mutex_;  // for the condition variable; the values are atomics
    mutable std::condition_variable changed_;
    std::atomic<bool> requested_{false};
    std::atomic<int> signo_{0};
};

}  // namespace anyio::detail
