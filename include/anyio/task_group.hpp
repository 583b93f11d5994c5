#pragma once
// Task groups (AnyIO's TaskGroup, Trio's nursery): structured concurrency.
//
//     co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
//         tg.start_soon(worker, 1);
//         tg.start_soon(worker, 2);
//         co_await something_else();
//     });   // returns only after both workers finished
//
// The group's body and every child run inside the group's cancel scope. If the body or
// a child throws (anything but `cancelled`), the scope is cancelled so the others unwind,
// and once all of them finished the group throws anyio::exception_group holding every
// failure. The parent never leaves before all children finished, even when it is itself
// cancelled (it then cancels the children and keeps waiting).
//
// Arguments, as with std::thread: start_soon(fn, args...) and start() copy (decay) fn and
// each argument into the child and pass the copies to fn as rvalues. A parameter `T&` is a
// compile error (fn would change its own copy, unseen by the caller); pass std::ref(x) to
// share x. A `const T&` or `T&&` parameter refers to the child's copy, which lives as long
// as the child.
//
// Lifetime trap: a coroutine lambda that captures by reference still refers to the caller's
// frame. Capture only what outlives the group (the group's body frame does: children finish
// before it ends).

#include <anyio/cancel_scope.hpp>
#include <anyio/detail/runtime.hpp>
#include <anyio/exceptions.hpp>
#include <anyio/task.hpp>

#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace anyio {

class task_group;

namespace detail {

class group_core;

// A child task: its scheduling state, the group it reports to, and how to start its body.
// A task group child: its task state, the callable and arguments it runs (in the derived
// child_invocation), and the group it reports to. One heap block; the body's coroutine
// is created when the child first runs and reports back through task_root.
struct child_task : task_state, task_root {
    child_task() = default;
    child_task(const child_task&) = delete;
    child_task& operator=(const child_task&) = delete;
    virtual ~child_task() = default;
    virtual task<void> make_body() = 0;

    group_core* group = nullptr;
    cancel_scope* scope = nullptr;
    std::coroutine_handle<> coroutine;  // the body's, once started
};

template <class T>
task<void> discard_value(task<T> t) {
    co_await std::move(t);
}

// fn(args...) with the decayed arguments stored beside the task's state: they live as long
// as the child runs, so a coroutine taking them by const or rvalue reference stays valid.
// The body is made once, so the arguments are moved into the call (as std::thread).
template <class F, class... Args>
struct child_invocation final : child_task {
    template <class G, class... A>
    explicit child_invocation(G&& g, A&&... a)
        : fn(std::forward<G>(g)), args(std::forward<A>(a)...) {}
    task<void> make_body() override {
        auto body = invoke_with_copies(fn, args);
        if constexpr (std::is_same_v<decltype(body), task<void>>) {
            return body;
        } else {
            return discard_value(std::move(body));
        }
    }
    F fn;
    std::tuple<Args...> args;
};

template <class F, class... Args>
std::unique_ptr<child_task> make_child(F&& fn, Args&&... args) {
    return std::make_unique<child_invocation<std::decay_t<F>, std::decay_t<Args>...>>(
        std::forward<F>(fn), std::forward<Args>(args)...);
}

// Bookkeeping shared by a group and its children (loop thread only).
class group_core {
public:
    void spawn(std::unique_ptr<child_task> child, cancel_scope& scope);
    void child_failed(std::exception_ptr error, cancel_scope& scope) noexcept;
    void child_done() noexcept;
    [[nodiscard]] std::size_t running() const noexcept { return running_; }
    std::vector<std::exception_ptr>& errors() noexcept { return errors_; }

    // Waits until every child finished. Cancellation while waiting cancels the group's
    // scope (so the children unwind) and keeps waiting.
    class join_awaiter;
    join_awaiter join(cancel_scope& scope) noexcept;

private:
    friend class join_awaiter;
    std::size_t running_ = 0;
    std::vector<std::exception_ptr> errors_;
    task_state* joiner_ = nullptr;
};

class group_core::join_awaiter : blocking_operation {
public:
    join_awaiter(group_core& core, cancel_scope& scope) noexcept : core_(core), scope_(scope) {}
    bool await_ready() const noexcept { return core_.running_ == 0; }
    bool await_suspend(std::coroutine_handle<> h);
    void await_resume() const noexcept {}

private:
    bool withdraw() noexcept override;
    group_core& core_;
    cancel_scope& scope_;
};

inline group_core::join_awaiter group_core::join(cancel_scope& scope) noexcept {
    return join_awaiter(*this, scope);
}

// Shared between task_group::start() and the child it starts.
template <class T>
struct start_state {
    std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> value;
    std::exception_ptr early_error;  // the child failed before calling started()
    bool finished = false;           // the child ended before calling started()
    task_state* waiter = nullptr;
    cancel_scope* child_scope = nullptr;  // cancels the child while it has not started
    // When a thread waits instead of a task (blocking_portal::start_task): called by
    // started() once the value is stored, on the loop thread.
    void (*notify_thread)(void* context) = nullptr;
    void* notify_context = nullptr;
    void wake() noexcept {
        if (waiter != nullptr) {
            waiter->parked = nullptr;
            schedule(*std::exchange(waiter, nullptr));
        }
    }
};

template <class F>
struct status_param;
struct status_access;
}  // namespace detail

// Handed to a task started with task_group::start(); the task calls started(value) once
// it is ready, and start() then returns that value to its caller.
template <class T = void>
class task_status {
public:
    template <class U = T>
    requires(!std::is_void_v<T> && std::is_convertible_v<U&&, T>) void started(U&& value) {
        report(std::optional<T>(std::forward<U>(value)));
    }
    void started() requires std::is_void_v<T> { report(std::optional<bool>(true)); }

private:
    friend class task_group;
    friend struct detail::status_access;
    using stored_t = std::conditional_t<std::is_void_v<T>, bool, T>;
    explicit task_status(std::shared_ptr<detail::start_state<T>> state)
        : state_(std::move(state)) {}
    void report(std::optional<stored_t> value) {
        if (!state_ || state_->value || state_->finished) {
            throw std::logic_error("anyio::task_status::started() called twice");
        }
        state_->value = std::move(value);
        state_->child_scope = nullptr;
        if (state_->notify_thread != nullptr) {
            state_->notify_thread(state_->notify_context);
        } else {
            state_->wake();
        }
    }
    std::shared_ptr<detail::start_state<T>> state_;
};

namespace detail {
// Deduces T from a callable whose first parameter is task_status<T>&.
template <class T>
struct status_value;
template <class T>
struct status_value<task_status<T>&> {
    using type = T;
};
template <class R, class First, class... Rest>
struct status_param<R (*)(First, Rest...)> {
    using type = typename status_value<First>::type;
};
template <class R, class C, class First, class... Rest>
struct status_param<R (C::*)(First, Rest...) const> {
    using type = typename status_value<First>::type;
};
template <class R, class C, class First, class... Rest>
struct status_param<R (C::*)(First, Rest...)> {
    using type = typename status_value<First>::type;
};
template <class F>
requires requires {
    &F::operator();
}
struct status_param<F> : status_param<decltype(&F::operator())> {};
template <class R, class First, class... Rest>
struct status_param<R(First, Rest...)> : status_param<R (*)(First, Rest...)> {};

// A task_status for a starter other than task_group::start (blocking_portal::start_task).
struct status_access {
    template <class T>
    static task_status<T> make(std::shared_ptr<start_state<T>> state) {
        return task_status<T>(std::move(state));
    }
};
}  // namespace detail

class task_group {
public:
    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;
    ~task_group() = default;

    // The scope the body and every child run in; cancel it to stop them all.
    [[nodiscard]] anyio::cancel_scope& cancel_scope() noexcept { return scope_; }

    // Starts fn(args...) as a new child task. fn and the arguments are decay-copied into
    // the child and the copies passed as rvalues (see the top of this file: pass std::ref
    // to share). Not a checkpoint; the child runs from the next scheduling round. Loop
    // thread only.
    template <class F, class... Args>
    requires detail::task_function_of_copies<std::decay_t<F>, std::decay_t<Args>...>
    void start_soon(F&& fn, Args&&... args) {
        if constexpr (detail::check_argument_copies<std::decay_t<F>, std::decay_t<Args>...>()) {
            core_.spawn(detail::make_child(std::forward<F>(fn), std::forward<Args>(args)...),
                        scope_);
        }
    }

    // Starts fn(status, args...) as a child and waits until it calls status.started(value);
    // returns that value. fn and args are copied as by start_soon; status is an lvalue. If the
    // child fails or ends before that, start() throws its exception (a std::runtime_error if it
    // just returned); the group is not affected. A checkpoint: cancelling the caller cancels the
    // child that has not started yet.
    template <class F, class... Args,
              class T = typename detail::status_param<std::decay_t<F>>::type>
    task<T> start(F&& fn, Args&&... args);

    // Runs `body(tg)` as the body of a new task group (see with_task_group).
    template <class F>
    requires task_function<F, task_group&>
    static task<void> run(F body);

private:
    task_group() = default;
    template <class T, class F, class... Args>
    task<T> start_child(F fn, Args... args);
    template <class T, class F, class... Args>
    static task<void> starter(std::shared_ptr<detail::start_state<T>> state, F fn, Args... args);

    detail::group_core core_;
    anyio::cancel_scope scope_;
};

template <class T, class F, class... Args>
task<void> task_group::starter(std::shared_ptr<detail::start_state<T>> state, F fn, Args... args) {
    anyio::cancel_scope before_start;
    state->child_scope = &before_start;
    task_status<T> status(state);
    std::exception_ptr error;
    try {
        // Runs once: the copies are moved into the call, as in start_soon.
        co_await before_start.run(
            [&]() -> task<void> { co_await std::invoke(fn, status, std::move(args)...); });
    } catch (const cancelled&) {
        if (state->value) throw;  // after started(): an ordinary cancelled child
    } catch (...) {
        error = std::current_exception();
    }
    if (!state->value) {
        state->child_scope = nullptr;
        state->finished = true;
        state->early_error = error;
        state->wake();
    } else if (error) {
        std::rethrow_exception(error);
    }
}

template <class F, class... Args, class T>
task<T> task_group::start(F&& fn, Args&&... args) {
    static_assert(
        detail::task_function_of_copies<std::decay_t<F>, task_status<T>&, std::decay_t<Args>...>,
        "anyio::task_group::start: fn(task_status<T>&, args...) must return a task");
    detail::check_awaited_callable<F>();
    // Checked here, outside the coroutine, so that a failed check is the only error.
    if constexpr (detail::check_argument_copies<std::decay_t<F>, task_status<T>&,
                                                std::decay_t<Args>...>()) {
        return start_child<T>(std::decay_t<F>(std::forward<F>(fn)),
                              std::decay_t<Args>(std::forward<Args>(args))...);
    } else {
        std::abort();
    }
}

template <class T, class F, class... Args>
task<T> task_group::start_child(F fn, Args... args) {
    auto state = std::make_shared<detail::start_state<T>>();
    core_.spawn(detail::make_child(&task_group::starter<T, F, Args...>, state, std::move(fn),
                                   std::move(args)...),
                scope_);

    // Never aborted: the child owns the outcome. Cancelling the caller cancels the child
    // that has not started yet, and the caller wakes once it has unwound.
    struct wait_started : detail::blocking_operation {
        detail::start_state<T>& st;
        explicit wait_started(detail::start_state<T>& s) : st(s) {}
        bool await_ready() const noexcept { return st.value || st.finished; }
        bool await_suspend(std::coroutine_handle<> h) {
            task_ = &detail::require_task("task_group::start");
            task_->resume_point = h;
            if (detail::effectively_cancelled(*task_)) withdraw();
            st.waiter = task_;
            park();
            return true;
        }
        void await_resume() const noexcept {}
        bool withdraw() noexcept override {
            if (st.child_scope != nullptr) st.child_scope->cancel();
            return false;
        }
    };
    co_await wait_started(*state);
    if (!state->value) {
        if (state->early_error) std::rethrow_exception(state->early_error);
        if (detail::effectively_cancelled(detail::require_task("task_group::start")))
            throw cancelled{};
        throw std::runtime_error(
            "anyio::task_group::start: the task ended without calling started()");
    }
    if constexpr (!std::is_void_v<T>) co_return std::move(*state->value);
}

template <class F>
requires task_function<F, task_group&> task<void> task_group::run(F body) {
    task_group group;
    detail::scope_access::enter(group.scope_, "with_task_group");
    bool body_cancelled = false;
    try {
        co_await std::invoke(body, group);
    } catch (const cancelled&) {
        body_cancelled = true;
    } catch (...) {
        group.core_.child_failed(std::current_exception(), group.scope_);
    }
    co_await group.core_.join(group.scope_);
    detail::scope_access::exit(group.scope_);
    if (!group.core_.errors().empty()) throw exception_group(std::move(group.core_.errors()));
    // A cancellation from an enclosing scope leaves the group as `cancelled`, also when it
    // reached the parent while it waited (the join cancelled the group's own scope too).
    if (detail::effectively_cancelled(detail::require_task("with_task_group"))) throw cancelled{};
    if (body_cancelled) {
        if (!group.scope_.cancel_called()) throw cancelled{};
        detail::scope_access::mark_caught(group.scope_);
    }
}

// Runs `body(tg)` with a new task group `tg`; returns when the body and every child
// started in the group finished. Throws exception_group if any of them failed.
// `body` is decay-copied and lives until the group finished.
template <class F>
requires task_function<std::decay_t<F>, task_group&> task<void> with_task_group(F&& body) {
    detail::check_awaited_callable<F>();
    return task_group::run(std::decay_t<F>(std::forward<F>(body)));
}

}  // namespace anyio
