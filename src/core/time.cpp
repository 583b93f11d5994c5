#include <anyio/time.hpp>

#include "core/loop.hpp"

namespace anyio {

clock::time_point current_time() noexcept {
    const detail::loop* l = detail::loop::current();
    return l != nullptr ? l->now() : clock::now();
}

namespace detail {

bool checkpoint_awaiter::await_suspend(std::coroutine_handle<> h) {
    task_state& task = require_task("checkpoint()");
    if (effectively_cancelled(task)) {
        aborted_ = true;
        return false;
    }
    task.resume_point = h;
    schedule(task);
    return true;
}

bool sleep_awaiter::await_suspend(std::coroutine_handle<> h) {
    if (!begin(h, "sleep()")) return false;
    // A deadline already past goes through the heap too (it fires after this batch, like a
    // yield): waking it straight away could overtake a sleeper with an earlier deadline
    // that the same tick fires, and sleeps must wake in deadline order.
    if (timer_.when != clock::time_point::max()) {
        timer_.fire = &on_timer;
        timer_.context = this;
        add_timer(*task_->owner, timer_);
    }
    park();
    return true;
}

bool sleep_awaiter::withdraw() noexcept {
    remove_timer(*task_->owner, timer_);
    return true;
}

void sleep_awaiter::on_timer(timer_node& node) noexcept {
    static_cast<sleep_awaiter*>(node.context)->finish();
}

}  // namespace detail
}  // namespace anyio
