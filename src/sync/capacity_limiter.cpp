#include <anyio/capacity_limiter.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace anyio {

capacity_limiter::capacity_limiter(std::size_t total_tokens) : total_(total_tokens) {
    if (total_tokens < 1)
        throw std::invalid_argument("capacity_limiter: total_tokens must be >= 1");
}

bool capacity_limiter::holds(const detail::task_state* task) const noexcept {
    return std::find(borrowers_.begin(), borrowers_.end(), task) != borrowers_.end();
}

bool capacity_limiter::held_by_current_task() const noexcept {
    const detail::task_state* task = detail::current_task();
    return task != nullptr && holds(task);
}

void capacity_limiter::check_not_holding(const detail::task_state& task, const char* what) const {
    if (holds(&task)) {
        throw std::logic_error(std::string(what) +
                               ": this task is already holding one of this limiter's tokens");
    }
}

detail::limiter_acquire_awaiter capacity_limiter::acquire() {
    check_not_holding(detail::require_task("capacity_limiter::acquire()"),
                      "capacity_limiter::acquire()");
    return detail::limiter_acquire_awaiter(*this);
}

bool capacity_limiter::try_acquire() {
    const detail::task_state& task = detail::require_task("capacity_limiter::try_acquire()");
    check_not_holding(task, "capacity_limiter::try_acquire()");
    if (!waiters_.empty() || borrowers_.size() >= total_) return false;
    borrowers_.push_back(&task);
    return true;
}

void capacity_limiter::release() {
    const detail::task_state* task = detail::current_task();
    auto it = std::find(borrowers_.begin(), borrowers_.end(), task);
    if (task == nullptr || it == borrowers_.end()) {
        throw std::logic_error(
            "capacity_limiter::release(): this task is not holding any of this limiter's tokens");
    }
    borrowers_.erase(it);
    hand_out();
}

void capacity_limiter::set_total_tokens(std::size_t total) {
    if (total < 1) throw std::invalid_argument("capacity_limiter: total_tokens must be >= 1");
    total_ = total;
    hand_out();
}

void capacity_limiter::hand_out() noexcept {
    while (borrowers_.size() < total_) {
        detail::limiter_acquire_awaiter* w = waiters_.pop_front();
        if (w == nullptr) return;
        borrowers_.push_back(w->task_);
        w->finish();
    }
}

namespace detail {

bool limiter_acquire_awaiter::await_suspend(std::coroutine_handle<> h) {
    if (!begin(h, "capacity_limiter::acquire()")) return false;
    if (limiter_.waiters_.empty() && limiter_.borrowers_.size() < limiter_.total_) {
        limiter_.borrowers_.push_back(task_);
        yield_now();
        return true;
    }
    limiter_.waiters_.push_back(*this);
    park();
    return true;
}

bool limiter_acquire_awaiter::withdraw() noexcept {
    limiter_.waiters_.remove(*this);
    return true;
}

}  // namespace detail
}  // namespace anyio
