#include "thread/portal_stop.hpp"

namespace anyio::detail {

void portal_stop_state::request(int signo) {
    const std::lock_guard lock(mutex_);
    int none = 0;
    if (signo != 0) signo_.compare_exchange_strong(none, signo);
    requested_.store(true);
    changed_.notify_all();  // under the lock: a waiter cannot miss it
}

int portal_stop_state::wait() const {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return requested_.load(); });
    return signo_.load();
}

bool portal_stop_state::wait_until(std::chrono::steady_clock::time_point deadline) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_until(lock, deadline, [this] { return requested_.load(); });
}

}  // namespace anyio::detail
