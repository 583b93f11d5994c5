#include <anyio/cancel_scope.hpp>

#include "core/loop.hpp"

#include <stdexcept>

namespace anyio {

using detail::scope_access;
using detail::task_state;

cancel_scope::cancel_scope(clock::time_point deadline, bool is_shielded) noexcept
    : shield_(is_shielded) {
    timer_.when = deadline;
    timer_.fire = &on_deadline;
    timer_.context = this;
}

cancel_scope::~cancel_scope() {
    // Only reachable while active if a suspended coroutine frame is destroyed mid-scope;
    // unlink so no dangling pointer stays in the tree.
    if (active_) exit();
}

void cancel_scope::on_deadline(detail::timer_node& node) noexcept {
    static_cast<cancel_scope*>(node.context)->cancel();
}

void cancel_scope::enter(const char* what) {
    task_state& task = detail::require_task(what);
    if (used_) throw std::logic_error("anyio::cancel_scope: a scope can be entered only once");
    used_ = true;
    active_ = true;
    owner_ = &task;
    loop_ = task.owner;
    parent_ = task.scope;
    if (parent_ != nullptr) {
        next_sibling_ = parent_->first_child_;
        if (next_sibling_ != nullptr) next_sibling_->prev_sibling_ = this;
        parent_->first_child_ = this;
        scope_access::remove_task(*parent_, task);
    }
    scope_access::add_task(*this, task);
    if (!cancel_called_ && timer_.when != clock::time_point::max()) {
        if (timer_.when <= loop_->now()) {
            cancel();
        } else {
            detail::add_timer(*loop_, timer_);
        }
    }
}

void cancel_scope::exit() noexcept {
    detail::remove_timer(*loop_, timer_);
    if (parent_ != nullptr) {
        if (prev_sibling_ != nullptr) {
            prev_sibling_->next_sibling_ = next_sibling_;
        } else {
            parent_->first_child_ = next_sibling_;
        }
        if (next_sibling_ != nullptr) next_sibling_->prev_sibling_ = prev_sibling_;
    }
    prev_sibling_ = next_sibling_ = nullptr;
    task_state& task = *owner_;
    scope_access::remove_task(*this, task);
    if (parent_ != nullptr) scope_access::add_task(*parent_, task);
    active_ = false;
}

void cancel_scope::cancel() noexcept {
    if (cancel_called_) return;
    cancel_called_ = true;
    if (loop_ != nullptr) detail::remove_timer(*loop_, timer_);
    if (active_) scope_access::deliver(*this);
}

void cancel_scope::set_deadline(clock::time_point deadline) {
    timer_.when = deadline;
    if (!active_ || cancel_called_) return;
    detail::remove_timer(*loop_, timer_);
    if (deadline == clock::time_point::max()) return;
    if (deadline <= loop_->now()) {
        cancel();
    } else {
        detail::add_timer(*loop_, timer_);
    }
}

void cancel_scope::set_shield(bool is_shielded) noexcept {
    shield_ = is_shielded;
    if (!is_shielded && active_ && scope_access::chain_cancelled(this)) {
        scope_access::deliver(*this);
    }
}

namespace detail {

void scope_access::add_task(cancel_scope& s, task_state& t) noexcept {
    t.scope = &s;
    t.scope_prev = nullptr;
    t.scope_next = s.tasks_;
    if (s.tasks_ != nullptr) s.tasks_->scope_prev = &t;
    s.tasks_ = &t;
}

void scope_access::remove_task(cancel_scope& s, task_state& t) noexcept {
    if (t.scope_prev != nullptr) {
        t.scope_prev->scope_next = t.scope_next;
    } else {
        s.tasks_ = t.scope_next;
    }
    if (t.scope_next != nullptr) t.scope_next->scope_prev = t.scope_prev;
    t.scope_prev = t.scope_next = nullptr;
    t.scope = nullptr;
}

bool scope_access::chain_cancelled(const cancel_scope* s) noexcept {
    for (; s != nullptr; s = s->parent_) {
        if (s->cancel_called_) return true;
        if (s->shield_) return false;
    }
    return false;
}

clock::time_point scope_access::effective_deadline(const cancel_scope* s) noexcept {
    // The same walk as chain_cancelled: a scope's own cancellation and deadline count even
    // when it is shielded; the shield stops the walk after it.
    clock::time_point earliest = clock::time_point::max();
    for (; s != nullptr; s = s->parent_) {
        if (s->cancel_called_) return clock::time_point::min();
        if (s->timer_.when < earliest) earliest = s->timer_.when;
        if (s->shield_) break;
    }
    return earliest;
}

void scope_access::deliver(cancel_scope& s) noexcept {
    for (task_state* t = s.tasks_; t != nullptr; t = t->scope_next) {
        if (t->parked != nullptr) t->parked->try_abort();
    }
    for (cancel_scope* c = s.first_child_; c != nullptr; c = c->next_sibling_) {
        if (!c->shield_) deliver(*c);
    }
}

bool effectively_cancelled(const task_state& task) noexcept {
    return scope_access::chain_cancelled(task.scope);
}

}  // namespace detail

clock::time_point current_effective_deadline() {
    return scope_access::effective_deadline(
        detail::require_task("current_effective_deadline()").scope);
}

}  // namespace anyio
