#pragma once
// Cancel scopes, with Trio's semantics.
//
// A cancel scope delimits work that can be cancelled as a unit: scope.cancel(), or its
// deadline passing, makes every checkpoint inside the scope (in this task and in every
// task started by task groups inside it) throw anyio::cancelled, again and again, until
// the code has left the scope ("level-triggered"). The scope that was cancelled catches
// its own `cancelled` when the body unwinds out of it; outer code carries on. A shielded
// scope hides cancellation of the scopes around it from the code inside it (use it for
// cleanup that must finish).
//
// C++ destructors cannot co_await, so a scope is entered by running a body in it:
//
//     anyio::cancel_scope scope;                 // may be cancelled from anywhere
//     bool finished = co_await scope.run([&]() -> anyio::task<> { ... });
//     if (scope.cancelled_caught()) ...
//
// or with the shorthands move_on_after / fail_after. A scope object may be entered
// once. Thread safety: every member is loop-thread only.
//
// Shields: `cancel_scope scope(anyio::shield)` or `cancel_scope scope(deadline,
// anyio::shield)`, and for the shorthands `move_on_after(timeout, anyio::shield, body)`
// (likewise move_on_at, fail_after, fail_at), Trio's `shield=True`. A shielded scope's
// own deadline and cancel() still apply; only the cancellation of the scopes around it is
// hidden. `co_await anyio::shielded(body)` runs a body shielded with no deadline.
//
// Async cleanup after a cancellation. C++ forbids co_await in a catch handler, and once a
// task's scope is cancelled every checkpoint throws, so an await in cleanup code would
// need both an exit from the handler and a shield. on_cancelled packages the two:
//
//     co_await anyio::on_cancelled(serve, 2s, say_goodbye);
//
// runs `serve`; if `cancelled` escapes it, runs `say_goodbye` in a shielded scope (its
// awaits work; here cut short after 2 s, Trio's `with move_on_after(2, shield=True)`),
// then throws `cancelled` on so the cancelled scope still catches it. Without the
// duration there is no time limit. Other exceptions pass through without the cleanup
// (use a destructor for cleanup that must run on every exit and need not await). Written
// out by hand, when the cleanup needs what the handler saw, the same pattern is:
//
//     bool was_cancelled = false;
//     try { co_await serve(); } catch (const anyio::cancelled&) { was_cancelled = true; }
//     if (was_cancelled) {
//         co_await anyio::move_on_after(2s, anyio::shield, say_goodbye);
//         throw anyio::cancelled{};  // stateless: a new one is the same as the caught one
//     }
//
// Never swallow the `cancelled`: the code after the cleanup would run inside a cancelled
// scope, and its first checkpoint would throw again anyway.

#include <anyio/detail/awaited_callable.hpp>
#include <anyio/detail/runtime.hpp>
#include <anyio/exceptions.hpp>
#include <anyio/task.hpp>
#include <anyio/time.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

namespace anyio {

// Tag for a shielded scope: cancel_scope(anyio::shield), move_on_after(t, anyio::shield,
// body). A tag rather than a bool parameter so the call site says what it does, and
// rather than an options struct because a braced initializer inside a co_await
// expression trips g++ 12.
struct shield_t {
    explicit shield_t() = default;
};
inline constexpr shield_t shield{};

namespace detail {
struct scope_access;

// What a body run inside a scope yields: std::optional<T> (empty when the scope's
// cancellation cut it short) or, for void bodies, bool "the body finished".
template <class T>
struct scope_result {
    using type = std::optional<T>;
};
template <>
struct scope_result<void> {
    using type = bool;
};

template <class F>
decltype(auto) invoke_body(F& body, cancel_scope& scope) {
    if constexpr (std::is_invocable_v<F&, cancel_scope&>) {
        return std::invoke(body, scope);
    } else {
        return std::invoke(body);
    }
}

template <class F>
using body_task_t = decltype(invoke_body(std::declval<F&>(), std::declval<cancel_scope&>()));
}  // namespace detail

// A body for a scope: a callable returning anyio::task<T>, taking either nothing or the
// cancel_scope& it runs in.
template <class F>
concept scope_body = task_function<F> || task_function<F, cancel_scope&>;

class cancel_scope {
public:
    // `deadline`: when the scope cancels itself (clock::time_point::max(): never).
    explicit cancel_scope(clock::time_point deadline = clock::time_point::max(),
                          bool is_shielded = false) noexcept;
    // Shielded: cancellation of the scopes around this one does not reach inside it.
    explicit cancel_scope(shield_t) noexcept : cancel_scope(clock::time_point::max(), true) {}
    cancel_scope(clock::time_point deadline, shield_t) noexcept : cancel_scope(deadline, true) {}
    cancel_scope(const cancel_scope&) = delete;
    cancel_scope& operator=(const cancel_scope&) = delete;
    ~cancel_scope();

    // Cancels everything inside the scope. Idempotent; works before, during and after
    // the scope runs; never throws. Tasks blocked inside the scope wake with `cancelled`.
    void cancel() noexcept;

    [[nodiscard]] clock::time_point deadline() const noexcept { return timer_.when; }
    // Moves the deadline, also while tasks wait inside the scope (earlier or later).
    void set_deadline(clock::time_point deadline);

    [[nodiscard]] bool shield() const noexcept { return shield_; }
    void set_shield(bool is_shielded) noexcept;

    // True once cancel() was called or the deadline passed.
    [[nodiscard]] bool cancel_called() const noexcept { return cancel_called_; }
    // True if this scope caught the `cancelled` it caused.
    [[nodiscard]] bool cancelled_caught() const noexcept { return cancelled_caught_; }

    // Runs `body` (called with this scope, or with nothing) inside the scope; returns its
    // result, or an empty optional / false if this scope's cancellation cut it short.
    // Exceptions other than this scope's own `cancelled` propagate. `body` is decay-copied
    // and lives until the returned task finished.
    template <class F>
    requires scope_body<std::decay_t<F>>
    auto run(F&& body) -> task<typename detail::scope_result<
        typename detail::body_task_t<std::decay_t<F>>::value_type>::type> {
        detail::check_awaited_callable<F>();
        return run_body(std::decay_t<F>(std::forward<F>(body)));
    }

private:
    friend struct detail::scope_access;
    template <scope_body F>
    auto run_body(F body)
        -> task<typename detail::scope_result<typename detail::body_task_t<F>::value_type>::type>;
    void enter(const char* what);
    void exit() noexcept;
    static void on_deadline(detail::timer_node& node) noexcept;

    detail::timer_node timer_;
    cancel_scope* parent_ = nullptr;
    cancel_scope* first_child_ = nullptr;
    cancel_scope* prev_sibling_ = nullptr;
    cancel_scope* next_sibling_ = nullptr;
    detail::task_state* tasks_ = nullptr;  // tasks whose innermost scope this is
    detail::loop* loop_ = nullptr;
    detail::task_state* owner_ = nullptr;  // task that entered the scope
    bool active_ = false;
    bool used_ = false;
    bool shield_ = false;
    bool cancel_called_ = false;
    bool cancelled_caught_ = false;
};

namespace detail {
struct scope_access {
    static void enter(cancel_scope& s, const char* what) { s.enter(what); }
    static void exit(cancel_scope& s) noexcept { s.exit(); }
    static void mark_caught(cancel_scope& s) noexcept { s.cancelled_caught_ = true; }
    // cancel_scope::run without the check for temporaries: for callers that hold the body
    // already (a copy in their own frame).
    template <scope_body F>
    static auto run_body(cancel_scope& s, F body) {
        return s.run_body(std::move(body));
    }
    static cancel_scope* parent(const cancel_scope& s) noexcept { return s.parent_; }
    static void add_task(cancel_scope& s, task_state& t) noexcept;
    static void remove_task(cancel_scope& s, task_state& t) noexcept;
    // True if `s` or an enclosing scope is cancelled with no shield in between.
    static bool chain_cancelled(const cancel_scope* s) noexcept;
    // current_effective_deadline() for a task whose innermost scope is `s`.
    static clock::time_point effective_deadline(const cancel_scope* s) noexcept;
    // Offers cancellation to every blocked task inside `s`, skipping shielded subscopes.
    static void deliver(cancel_scope& s) noexcept;
};
}  // namespace detail

template <scope_body F>
auto cancel_scope::run_body(F body)
    -> task<typename detail::scope_result<typename detail::body_task_t<F>::value_type>::type> {
    using value_t = typename detail::body_task_t<F>::value_type;
    enter("cancel_scope::run");
    try {
        if constexpr (std::is_void_v<value_t>) {
            co_await detail::invoke_body(body, *this);
            exit();
            co_return true;
        } else {
            std::optional<value_t> result(co_await detail::invoke_body(body, *this));
            exit();
            co_return result;
        }
    } catch (const cancelled&) {
        exit();
        if (!cancel_called_) throw;
        cancelled_caught_ = true;
    } catch (...) {
        exit();
        throw;
    }
    if constexpr (std::is_void_v<value_t>) {
        co_return false;
    } else {
        co_return std::nullopt;
    }
}

namespace detail {
template <class F>
using scope_run_t = task<typename scope_result<typename body_task_t<F>::value_type>::type>;

template <scope_body F>
auto move_on(clock::time_point deadline, bool is_shielded, F body) -> scope_run_t<F> {
    cancel_scope scope(deadline, is_shielded);
    co_return co_await scope_access::run_body(scope, std::move(body));
}

template <scope_body F>
auto fail(clock::time_point deadline, bool is_shielded, F body)
    -> task<typename body_task_t<F>::value_type> {
    cancel_scope scope(deadline, is_shielded);
    auto result = co_await scope_access::run_body(scope, std::move(body));
    if (scope.cancelled_caught()) throw timeout_error();
    if constexpr (!std::is_same_v<decltype(result), bool>) co_return std::move(*result);
}
}  // namespace detail

// The shorthands below return the coroutine of detail::move_on / detail::fail directly
// rather than awaiting it, so the shield overloads cost no extra coroutine frame.

// Runs `body` in a new scope whose deadline is `deadline`; when it passes, the body is
// cancelled and the result is empty (std::nullopt, or false for void bodies). `body` is
// decay-copied and lives until the returned task finished (likewise below).
template <class F>
requires scope_body<std::decay_t<F>>
auto move_on_at(clock::time_point deadline, F&& body) -> detail::scope_run_t<std::decay_t<F>> {
    detail::check_awaited_callable<F>();
    return detail::move_on(deadline, false, std::decay_t<F>(std::forward<F>(body)));
}

// The same in a shielded scope: the body also runs to its end or its deadline when an
// enclosing scope is cancelled (Trio's move_on_at(deadline, shield=True)).
template <class F>
requires scope_body<std::decay_t<F>>
auto move_on_at(clock::time_point deadline, shield_t, F&& body)
    -> detail::scope_run_t<std::decay_t<F>> {
    detail::check_awaited_callable<F>();
    return detail::move_on(deadline, true, std::decay_t<F>(std::forward<F>(body)));
}

template <class Rep, class Period, class F>
requires scope_body<std::decay_t<F>>
auto move_on_after(std::chrono::duration<Rep, Period> timeout, F&& body) {
    return move_on_at(deadline_after(timeout), std::forward<F>(body));
}

template <class Rep, class Period, class F>
requires scope_body<std::decay_t<F>>
auto move_on_after(std::chrono::duration<Rep, Period> timeout, shield_t, F&& body) {
    return move_on_at(deadline_after(timeout), shield, std::forward<F>(body));
}

// Like move_on_at, but throws anyio::timeout_error when the deadline cut the body short.
template <class F>
requires scope_body<std::decay_t<F>>
auto fail_at(clock::time_point deadline, F&& body)
    -> task<typename detail::body_task_t<std::decay_t<F>>::value_type> {
    detail::check_awaited_callable<F>();
    return detail::fail(deadline, false, std::decay_t<F>(std::forward<F>(body)));
}

template <class F>
requires scope_body<std::decay_t<F>>
auto fail_at(clock::time_point deadline, shield_t, F&& body)
    -> task<typename detail::body_task_t<std::decay_t<F>>::value_type> {
    detail::check_awaited_callable<F>();
    return detail::fail(deadline, true, std::decay_t<F>(std::forward<F>(body)));
}

template <class Rep, class Period, class F>
requires scope_body<std::decay_t<F>>
auto fail_after(std::chrono::duration<Rep, Period> timeout, F&& body) {
    return fail_at(deadline_after(timeout), std::forward<F>(body));
}

template <class Rep, class Period, class F>
requires scope_body<std::decay_t<F>>
auto fail_after(std::chrono::duration<Rep, Period> timeout, shield_t, F&& body) {
    return fail_at(deadline_after(timeout), shield, std::forward<F>(body));
}

namespace detail {
template <task_function F>
auto run_shielded(F body) -> task<task_result_t<F>> {
    cancel_scope scope(shield);
    if constexpr (std::is_void_v<task_result_t<F>>) {
        co_await scope_access::run_body(scope, std::move(body));
    } else {
        // Never empty: only this function could cancel the scope.
        auto result = co_await scope_access::run_body(scope, std::move(body));
        co_return std::move(*result);
    }
}

template <task_function Body, task_function Cleanup>
auto run_on_cancelled(Body body, Cleanup cleanup) -> task<task_result_t<Body>> {
    try {
        co_return co_await std::invoke(body);
    } catch (const cancelled&) {
        // Cannot co_await here: leave the handler first.
    }
    co_await run_shielded(std::move(cleanup));
    throw cancelled{};
}

template <task_function Body, class Rep, class Period, task_function Cleanup>
auto run_on_cancelled(Body body, std::chrono::duration<Rep, Period> cleanup_timeout,
                      Cleanup cleanup) -> task<task_result_t<Body>> {
    try {
        co_return co_await std::invoke(body);
    } catch (const cancelled&) {
        // Cannot co_await here: leave the handler first.
    }
    (void)co_await move_on(deadline_after(cleanup_timeout), true, std::move(cleanup));
    throw cancelled{};
}
}  // namespace detail

// Runs `body` in a shielded scope with no deadline and returns its result: nothing
// outside can cancel it, so it always runs to its end (or its own exception). For short
// async cleanup; bound anything that may block with move_on_after(t, anyio::shield, body).
template <class F>
requires task_function<std::decay_t<F>>
auto shielded(F&& body) -> task<task_result_t<std::decay_t<F>>> {
    detail::check_awaited_callable<F>();
    return detail::run_shielded(std::decay_t<F>(std::forward<F>(body)));
}

// Runs `body`; if `cancelled` escapes it, runs `cleanup` shielded and then throws
// `cancelled` on (see "Async cleanup after a cancellation" at the top of this file).
// Returns what `body` returns. An exception from `cleanup` replaces the `cancelled`.
template <class Body, class Cleanup>
requires task_function<std::decay_t<Body>> && task_function<std::decay_t<Cleanup>>
auto on_cancelled(Body&& body, Cleanup&& cleanup) -> task<task_result_t<std::decay_t<Body>>> {
    detail::check_awaited_callable<Body>();
    detail::check_awaited_callable<Cleanup>();
    return detail::run_on_cancelled(std::decay_t<Body>(std::forward<Body>(body)),
                                    std::decay_t<Cleanup>(std::forward<Cleanup>(cleanup)));
}

// The same, with the cleanup cut short `cleanup_timeout` after it starts (the
// `cancelled` is still thrown on, not timeout_error).
template <class Body, class Rep, class Period, class Cleanup>
requires task_function<std::decay_t<Body>> && task_function<std::decay_t<Cleanup>>
auto on_cancelled(Body&& body, std::chrono::duration<Rep, Period> cleanup_timeout,
                  Cleanup&& cleanup) -> task<task_result_t<std::decay_t<Body>>> {
    detail::check_awaited_callable<Body>();
    detail::check_awaited_callable<Cleanup>();
    return detail::run_on_cancelled(std::decay_t<Body>(std::forward<Body>(body)), cleanup_timeout,
                                    std::decay_t<Cleanup>(std::forward<Cleanup>(cleanup)));
}

}  // namespace anyio
