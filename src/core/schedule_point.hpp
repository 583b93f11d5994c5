#pragma once
// Trio's two halves of a checkpoint, for an operation that may complete at once: check for
// cancellation before acting, and let the other ready tasks run after acting, without a
// second check (a result already taken from the kernel is never lost to cancellation). An
// operation that had to wait needs neither half afterwards: the wait was its checkpoint.
// Acting first and yielding after sends a server's reply one scheduling round earlier than
// yielding first, and saves the round entirely when the operation waits.

#include <anyio/detail/runtime.hpp>
#include <anyio/exceptions.hpp>

#include <coroutine>

namespace anyio::detail {

// Throws `cancelled` if the calling task is in a cancelled scope; never suspends.
inline void throw_if_cancelled(const char* what) {
    if (effectively_cancelled(require_task(what))) throw cancelled{};
}

// co_await: every other ready task runs once before this one continues; never throws.
struct cancel_shielded_yield {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const noexcept {
        task_state& task = *current_task();
        task.resume_point = h;
        schedule(task);
    }
    void await_resume() const noexcept {}
};

}  // namespace anyio::detail
