#include <anyio/capacity_limiter.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace anyio {

namespace {
constexpr const char* acquire_what = "capacity_limiter::acquire()";
constexpr const char* try_acquire_what = "capacity_limiter::try_acquire()";
constexpr const char* on_behalf_what = "capacity_limiter::acquire_on_behalf_of()";
constexpr const char* try_on_behalf_what = "capacity_limiter::try_acquire_on_behalf_of()";
}  // namespace

capacity_limiter::capacity_limiter(std::size_t total_tokens) : total_(total_tokens) {
    if (total_tokens < 1)
        throw std::invalid_argument("capacity_limiter: total_tokens must be >= 1");
}

const void* capacity_limiter::current_task_borrower(const char* what) const {
    const void* task = &detail::require_task(what);
    check_can_borrow(task, what);
    return task;
}

bool capacity_limiter::holds(const void* borrower) const noexcept {
    return std::find(borrowers_.begin(), borrowers_.end(), borrower) != borrowers_.end();
}

bool capacity_limiter::held_by_current_task() const noexcept {
    const detail::task_state* task = detail::current_task();
    return task != nullptr && holds(task);
}

void capacity_limiter::check_can_borrow(const void* borrower, const char* what) const {
    if (borrower == nullptr) throw std::invalid_argument(std::string(what) + ": null borrower");
    if (holds(borrower)) {
        throw std::logic_error(std::string(what) +
                               ": this borrower is already holding one of this limiter's tokens");
    }
    // Two waits for one borrower would both be granted: a borrower holds one token.
    for (const detail::limiter_acquire_awaiter* w = waiters_.front(); w != nullptr; w = w->next_) {
        if (w->borrower_ == borrower) {
            throw std::logic_error(std::string(what) +
                                   ": a task is already waiting for a token for this borrower");
        }
    }
}

bool capacity_limiter::try_borrow(const void* borrower) {
    if (!waiters_.empty() || borrowers_.size() >= total_) return false;
    borrowers_.push_back(borrower);
    return true;
}

detail::limiter_acquire_awaiter capacity_limiter::acquire() {
    return {*this, current_task_borrower(acquire_what)};
}

detail::limiter_guard_awaiter capacity_limiter::acquire_guard() {
    return {*this, current_task_borrower(acquire_what)};
}

bool capacity_limiter::try_acquire() {
    return try_borrow(current_task_borrower(try_acquire_what));
}

capacity_limiter_guard capacity_limiter::try_acquire_guard() {
    const void* task = current_task_borrower(try_acquire_what);
    if (!try_borrow(task)) return {};
    return capacity_limiter_guard(detail::limiter_hold{this, task});
}

void capacity_limiter::release() {
    if (!give_back(detail::current_task())) {
        throw std::logic_error(
            "capacity_limiter::release(): this task is not holding any of this limiter's tokens");
    }
}

detail::limiter_acquire_awaiter capacity_limiter::acquire_on_behalf_of(const void* borrower) {
    check_can_borrow(borrower, on_behalf_what);
    return {*this, borrower};
}

detail::limiter_guard_awaiter capacity_limiter::acquire_guard_on_behalf_of(const void* borrower) {
    check_can_borrow(borrower, on_behalf_what);
    return {*this, borrower};
}

bool capacity_limiter::try_acquire_on_behalf_of(const void* borrower) {
    check_can_borrow(borrower, try_on_behalf_what);
    return try_borrow(borrower);
}

capacity_limiter_guard capacity_limiter::try_acquire_guard_on_behalf_of(const void* borrower) {
    if (!try_acquire_on_behalf_of(borrower)) return {};
    return capacity_limiter_guard(detail::limiter_hold{this, borrower});
}

void capacity_limiter::release_on_behalf_of(const void* borrower) {
    if (!give_back(borrower)) {
        throw std::logic_error(
            "capacity_limiter::release_on_behalf_of(): this borrower is not holding any of "
            "this limiter's tokens");
    }
}

bool capacity_limiter::give_back(const void* borrower) noexcept {
    auto it = std::find(borrowers_.begin(), borrowers_.end(), borrower);
    if (borrower == nullptr || it == borrowers_.end()) return false;
    borrowers_.erase(it);
    hand_out();
    return true;
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
        borrowers_.push_back(w->borrower_);
        w->finish();
    }
}

namespace detail {

void limiter_hold::release() {
    held->release_on_behalf_of(borrower);
}

void limiter_hold::release_at_scope_end() noexcept {
    (void)held->give_back(borrower);  // false: released by hand already
}

bool limiter_acquire_awaiter::await_suspend(std::coroutine_handle<> h) {
    if (!begin(h, "capacity_limiter::acquire()")) return false;
    if (limiter_.waiters_.empty() && limiter_.borrowers_.size() < limiter_.total_) {
        limiter_.borrowers_.push_back(borrower_);
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
