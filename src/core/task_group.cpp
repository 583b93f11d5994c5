#include <anyio/task_group.hpp>

#include "core/loop.hpp"

#include <cstdlib>
#include <utility>

namespace anyio::detail {

namespace {

// The child ends: report a failure to its group, leave its scope, free it, and tell the
// group (last: the group's parent may resume and free the group right away).
void finish_child(child_task* self, std::exception_ptr error, bool cancelled) noexcept {
    // A cancelled child needs no report: level-triggered, the scope that was cancelled sees
    // it at its own checkpoints.
    if (error && !cancelled) self->group->child_failed(std::move(error), *self->scope);
    scope_access::remove_task(*self->scope, *self);
    group_core* group = self->group;
    delete self;  // nothing below may touch the task state
    group->child_done();
}

// First run of a child (task_state::start): create the body's coroutine and run it.
void start_child(task_state& state) noexcept {
    auto* self = static_cast<child_task*>(&state);
    try {
        self->coroutine = task_access::release_as_root(self->make_body(), *self);
    } catch (...) {  // the callable threw instead of returning a task
        finish_child(self, std::current_exception(), current_exception_is_cancelled());
        return;
    }
    self->resume_point = self->coroutine;
    self->coroutine.resume();
}

// The body's coroutine ended (task_root::done).
void body_ended(task_root& root, task_promise_base& promise) noexcept {
    auto* self = static_cast<child_task*>(&root);
    std::exception_ptr error = std::move(promise.error_);
    const bool cancelled = promise.cancelled_;
    self->coroutine.destroy();  // we are at its final suspend point
    finish_child(self, std::move(error), cancelled);
}

}  // namespace

void group_core::spawn(std::unique_ptr<child_task> child, cancel_scope& scope) {
    task_state& parent = require_task("task_group::start_soon");
    child->owner = parent.owner;
    child->group = this;
    child->scope = &scope;
    child->start = &start_child;
    child->done = &body_ended;
    child_task* state = child.release();  // it frees itself when it ends
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
