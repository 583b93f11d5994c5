#include <anyio/event.hpp>

#include <utility>

namespace anyio {

void event::set() noexcept {
    if (set_) return;
    set_ = true;
    detail::event_wait_awaiter* w = std::exchange(waiters_, nullptr);
    while (w != nullptr) {
        detail::event_wait_awaiter* next = w->next_;
        w->prev_ = w->next_ = nullptr;
        w->finish();
        w = next;
    }
}

namespace detail {

bool event_wait_awaiter::await_suspend(std::coroutine_handle<> h) {
    if (!begin(h, "event::wait()")) return false;
    if (event_.set_) {
        yield_now();
        return true;
    }
    next_ = event_.waiters_;
    if (next_ != nullptr) next_->prev_ = this;
    event_.waiters_ = this;
    park();
    return true;
}

bool event_wait_awaiter::withdraw() noexcept {
    if (prev_ != nullptr) {
        prev_->next_ = next_;
    } else {
        event_.waiters_ = next_;
    }
    if (next_ != nullptr) next_->prev_ = prev_;
    prev_ = next_ = nullptr;
    return true;
}

}  // namespace detail
}  // namespace anyio
