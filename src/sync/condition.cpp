#include <anyio/condition.hpp>

#include <exception>
#include <stdexcept>
#include <string>

namespace anyio {

void condition::check_held(const char* what) const {
    if (!lock_.owned_by_current_task()) {
        throw std::logic_error(std::string(what) + ": the current task does not hold the lock");
    }
}

task<> condition::wait() {
    check_held("condition::wait()");
    detail::condition_wait_awaiter waiter(*this);
    std::exception_ptr error;
    try {
        co_await waiter;
    } catch (...) {
        error = std::current_exception();
    }
    if (waiter.released_lock()) {
        // Re-acquire whatever happened, ignoring cancellation (AnyIO shields this).
        co_await detail::lock_acquire_awaiter(lock_, true);
    }
    if (error) std::rethrow_exception(error);
}

void condition::notify(std::size_t n) {
    check_held("condition::notify()");
    for (; n > 0; --n) {
        detail::condition_wait_awaiter* w = waiters_.pop_front();
        if (w == nullptr) break;
        w->finish();
    }
}

namespace detail {

bool condition_wait_awaiter::await_suspend(std::coroutine_handle<> h) {
    if (!begin(h, "condition::wait()")) return false;  // cancelled: keep the lock
    cond_.waiters_.push_back(*this);
    released_ = true;
    cond_.lock_.release_unchecked();
    park();
    return true;
}

bool condition_wait_awaiter::withdraw() noexcept {
    cond_.waiters_.remove(*this);
    return true;
}

}  // namespace detail
}  // namespace anyio
