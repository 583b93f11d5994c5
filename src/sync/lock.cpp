#include <anyio/lock.hpp>

#include <cstdio>
#include <exception>
#include <stdexcept>

namespace anyio {

bool lock::try_acquire() {
    detail::task_state& task = detail::require_task("lock::try_acquire()");
    if (owner_ != nullptr) return false;
    owner_ = &task;
    return true;
}

lock_guard lock::try_acquire_guard() {
    if (!try_acquire()) return {};
    return lock_guard(detail::lock_hold{this, owner_});
}

bool lock::owned_by_current_task() const noexcept {
    return owner_ != nullptr && owner_ == detail::current_task();
}

void lock::release() {
    if (owner_ == nullptr || owner_ != detail::current_task()) {
        throw std::logic_error("lock::release(): the current task does not hold this lock");
    }
    release_unchecked();
}

void lock::release_unchecked() noexcept {
    detail::lock_acquire_awaiter* next = waiters_.pop_front();
    if (next == nullptr) {
        owner_ = nullptr;
        return;
    }
    owner_ = next->task_;
    next->finish();
}

namespace detail {

void lock_hold::release() {
    if (held->owner_ != task) {
        throw std::logic_error(
            "anyio::lock_guard::release(): the task released the lock by hand already");
    }
    held->release();  // the ownership check: throws in another task
}

void lock_hold::release_at_scope_end() noexcept {
    if (held->owner_ != task) return;  // the task released it by hand
    if (current_task() != task) {
        std::fputs(
            "anyio::lock_guard destroyed outside the task that acquired the lock: a lock "
            "belongs to its task (release the guard there; a semaphore_guard can move "
            "between tasks)\n",
            stderr);
        std::terminate();
    }
    held->release_unchecked();
}

bool lock_acquire_awaiter::await_suspend(std::coroutine_handle<> h) {
    if (shielded_) {
        task_ = &require_task("lock::acquire()");
        task_->resume_point = h;
        if (lock_.owner_ == nullptr) {
            lock_.owner_ = task_;
            return false;
        }
    } else {
        if (!begin(h, "lock::acquire()")) return false;
        if (lock_.owner_ == nullptr) {
            // Free (then nobody waits: release() hands the lock to the first waiter).
            lock_.owner_ = task_;
            yield_now();
            return true;
        }
    }
    lock_.waiters_.push_back(*this);
    park();
    return true;
}

bool lock_acquire_awaiter::withdraw() noexcept {
    if (shielded_) return false;
    lock_.waiters_.remove(*this);
    return true;
}

}  // namespace detail
}  // namespace anyio
