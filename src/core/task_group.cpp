#include <anyio/task_group.hpp>

#include "core/loop.hpp"

#include <cstdlib>
#include <utility>

namespace anyio::detail {

namespace {

// A self-owned coroutine: starts suspended, frees its frame when it ends.
struct detached_coroutine {
    struct promise_type {
        detached_coroutine get_return_object() noexcept {
            return {std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_always initial_suspend() const noexcept { return {}; }
        std::suspend_never final_suspend() const noexcept { return {}; }
        void return_void() const noexcept {}
        [[noreturn]] void unhandled_exception() const noexcept { std::abort(); }
    };
    std::coroutine_handle<promise_type> handle;
};

detached_coroutine run_child(child_task* self) {
    task_outcome outcome;
    try {
        outcome = co_await task_access::settle(self->make_body());
    } catch (...) {  // make_body: the callable threw instead of returning a task
        outcome = {std::current_exception(), current_exception_is_cancelled()};
    }
    // A cancelled child needs no report: level-triggered, the scope that was cancelled sees
    // it at its own checkpoints.
    if (outcome.error && !outcome.cancelled) {
        self->group->child_failed(std::move(outcome.error), *self->scope);
    }
    scope_access::remove_task(*self->scope, *self);
    group_core* group = self->group;
    delete self;  // nothing below may touch the task state
    group->child_done();
}

}  // namespace

void group_core::spawn(std::unique_ptr<child_task> child, cancel_scope& scope) {
    task_state& parent = require_task("task_group::start_soon");
    child->owner = parent.owner;
    child->group = this;
    child->scope = &scope;
    child->resume_point = run_child(child.get()).handle;
    child_task* state = child.release();  // run_child owns it from here
    scope_access::add_task(scope, *state);
    ++running_;
    schedule(*state);
}

void group_core::child_failed(std::exception_ptr error, cancel_scope& scope) noexcept {
    errors_.push_back(std::move(error));
    scope.cancel();
}

void group_core::child_done() noexcept {
    if (--running_ == 0 && joiner_ != nullptr) {
        joiner_->parked = nullptr;
        schedule(*std::exchange(joiner_, nullptr));
    }
}

bool group_core::join_awaiter::await_suspend(std::coroutine_handle<> h) {
    task_ = &require_task("with_task_group");
    task_->resume_point = h;
    // Joining is not interruptible: cancellation arriving now or later cancels the
    // group's scope, and the parent keeps waiting for the children to unwind.
    if (effectively_cancelled(*task_)) scope_.cancel();
    core_.joiner_ = task_;
    park();
    return true;
}

bool group_core::join_awaiter::withdraw() noexcept {
    scope_.cancel();
    return false;
}

}  // namespace anyio::detail
