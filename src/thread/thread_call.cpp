#include <anyio/detail/thread_call.hpp>

#include <anyio/cancel_scope.hpp>

#include "thread/loop_gate.hpp"

#include <utility>

namespace anyio::detail {

thread_request::~thread_request() = default;

task<void> thread_request::run(bool shielded, const cancellation_errors& errors) {
    cancel_scope own(clock::time_point::max(), shielded);
    scope = &own;
    if (cancel_requested) own.cancel();
    std::exception_ptr error;
    bool cut_short = false;
    try {
        const bool finished = co_await own.run([this]() -> task<void> { co_await invoke(); });
        if (!finished) error = errors(cancel_origin::own_scope);
    } catch (const cancelled&) {
        cut_short = true;
    } catch (...) {
        // Everything else goes to the waiting thread: the task itself ends quietly (its
        // group must not see a failure).
        error = std::current_exception();
    }
    scope = nullptr;
    if (cut_short) {
        // Out of its own scope, the task sees what the scopes around it say.
        const bool from_outside = effectively_cancelled(require_task("anyio thread call"));
        error = errors(from_outside ? cancel_origin::enclosing_scope : cancel_origin::task);
    }
    settle(std::move(error));
}

void thread_request::settle(std::exception_ptr error) noexcept {
    {
        const std::lock_guard lock(mutex_);
        if (claimed_) return;
        claimed_ = true;
    }
    // Before waking the waiter: once it wakes it may free the call, and the gate must not
    // be left holding it.
    if (gate) gate->forget(*this);
    const std::lock_guard lock(mutex_);
    error_ = std::move(error);
    done_ = true;
    // Under the lock: the waiter cannot return (and free the condition variable) before
    // the notification is made.
    settled_.notify_all();
}

void thread_request::wait() const {
    std::unique_lock lock(mutex_);
    settled_.wait(lock, [this] { return done_; });
}

bool thread_request::wait_until(std::chrono::steady_clock::time_point deadline) const {
    std::unique_lock lock(mutex_);
    return settled_.wait_until(lock, deadline, [this] { return done_; });
}

bool thread_request::done() const {
    const std::lock_guard lock(mutex_);
    return done_;
}

void thread_request::cancel() {
    if (done() || !gate) return;
    // On the loop thread: `scope` and `cancel_requested` belong to it.
    gate->post([self = shared_from_this()] {
        if (self->scope != nullptr) {
            self->scope->cancel();
        } else {
            self->cancel_requested = true;
        }
    });
}

void thread_request::report_started() noexcept {
    const std::lock_guard lock(mutex_);
    started_ = true;
    settled_.notify_all();  // under the lock: see settle()
}

bool thread_request::wait_started() const {
    std::unique_lock lock(mutex_);
    settled_.wait(lock, [this] { return started_ || done_; });
    return started_;
}

void thread_request::rethrow_if_failed() {
    std::exception_ptr error;
    {
        // Moved out: the exception object then lives and dies on the waiting thread alone
        // (see worker_job::rethrow_if_failed).
        const std::lock_guard lock(mutex_);
        error = std::exchange(error_, nullptr);
    }
    if (error) std::rethrow_exception(std::move(error));
}

}  // namespace anyio::detail
