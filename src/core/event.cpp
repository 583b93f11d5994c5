#include <anyio/event.hpp>

namespace anyio {

void event::set() noexcept {
    if (set_) return;
    set_ = true;
    while (detail::event_wait_awaiter* w = waiters_.pop_front())
        w->finish();
}

namespace detail {

bool event_wait_awaiter::await_suspend(std::coroutine_handle<> h) {
    if (!begin(h, "event::wait()")) return false;
    if (event_.set_) {
        yield_now();
        return true;
    }
    event_.waiters_.push_back(*this);
    park();
    return true;
}

bool event_wait_awaiter::withdraw() noexcept {
    event_.waiters_.remove(*this);
    return true;
}

}  // namespace detail
}  // namespace anyio
