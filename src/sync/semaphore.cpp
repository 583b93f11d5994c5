#include <anyio/semaphore.hpp>

#include <stdexcept>

namespace anyio {

semaphore::semaphore(std::ptrdiff_t initial, std::optional<std::ptrdiff_t> max_value)
    : value_(initial), max_(max_value) {
    if (initial < 0) throw std::invalid_argument("semaphore: initial value must be >= 0");
    if (max_value) {
        if (*max_value < 1) throw std::invalid_argument("semaphore: max_value must be >= 1");
        if (initial > *max_value) {
            throw std::invalid_argument("semaphore: initial value must be <= max_value");
        }
    }
}

bool semaphore::try_acquire() noexcept {
    if (value_ == 0) return false;
    --value_;
    return true;
}

void semaphore::release() {
    if (!release_within_max()) {
        throw std::logic_error("semaphore::release(): the value would exceed max_value");
    }
}

bool semaphore::release_within_max() noexcept {
    if (max_ && value_ >= *max_) return false;
    detail::semaphore_acquire_awaiter* next = waiters_.pop_front();
    if (next == nullptr) {
        ++value_;
        return true;
    }
    next->finish();  // the token goes straight to the first waiter
    return true;
}

namespace detail {

void semaphore_hold::release() {
    held->release();
}

void semaphore_hold::release_at_scope_end() noexcept {
    (void)held->release_within_max();
}

bool semaphore_acquire_awaiter::await_suspend(std::coroutine_handle<> h) {
    if (!begin(h, "semaphore::acquire()")) return false;
    if (sem_.value_ > 0) {
        // Tokens left means nobody waits (release() hands tokens to waiters first).
        --sem_.value_;
        yield_now();
        return true;
    }
    sem_.waiters_.push_back(*this);
    park();
    return true;
}

bool semaphore_acquire_awaiter::withdraw() noexcept {
    sem_.waiters_.remove(*this);
    return true;
}

}  // namespace detail
}  // namespace anyio
