#pragma once
// anyio::task<T>: a lazy, move-only coroutine that produces a T (or throws).
//
// A task does nothing until it is awaited; `co_await some_task()` runs it as part of the
// awaiting task (same cancel scopes, same scheduling) and yields its value or rethrows
// its exception. Run independent work concurrently with a task group instead.
//
// Completion never grows the stack: a child that finishes without suspending hands
// control back through await_suspend's return value (no resume() nesting), so a loop
// that awaits 10^6 synchronously-completing children runs in constant stack even at -O0
// where compilers do not turn symmetric transfer into tail calls.

#include <anyio/exceptions.hpp>

#include <coroutine>
#include <exception>
#include <functional>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace anyio {

template <class T = void>
class [[nodiscard]] task;

namespace detail {

// True inside a catch(...) handler whose exception is anyio::cancelled; asks the C++
// runtime for the type instead of rethrowing (a rethrow costs as much as the throw).
bool current_exception_is_cancelled() noexcept;

enum class start_mode : unsigned char {
    detached,          // the child suspended; it resumes its awaiter when it finishes
    running_inline,    // the awaiter is inside await_suspend, waiting for the child
    completed_inline,  // the child finished before await_suspend returned
    root,              // the outermost coroutine of a task group child: no awaiter
};

class task_promise_base;

// What a root coroutine reports to when it ends (a task group child). `done` runs at the
// coroutine's final suspend point, so it may destroy the frame. A plain function pointer
// rather than a virtual function: no dynamic-type check on the way out of every child.
struct task_root {
    void (*done)(task_root& root, task_promise_base& promise) noexcept = nullptr;
};

class task_promise_base {
public:
    std::suspend_always initial_suspend() const noexcept { return {}; }

    struct final_awaiter {
        bool await_ready() const noexcept { return false; }
        template <class Promise>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
            task_promise_base& p = self.promise();
            if (p.mode_ == start_mode::root) {
                // A root has no parent to resume; continuation_ holds its task_root.
                auto* root = static_cast<task_root*>(p.continuation_.address());
                root->done(*root, p);
                return std::noop_coroutine();  // the frame may be gone: touch nothing
            }
            if (p.mode_ == start_mode::running_inline) {
                p.mode_ = start_mode::completed_inline;
                return std::noop_coroutine();
            }
            return p.continuation_;
        }
        void await_resume() const noexcept {}
    };
    final_awaiter final_suspend() const noexcept { return {}; }
    void unhandled_exception() noexcept {
        // `cancelled` carries no state, so a cancelled coroutine keeps no exception_ptr
        // (two atomic reference count updates per cancelled task): its awaiter throws a
        // fresh one, no dearer than rethrowing this one would be.
        if (current_exception_is_cancelled()) {
            cancelled_ = true;
        } else {
            error_ = std::current_exception();
        }
    }
    // Inline so that a rethrow happens in the awaiting coroutine's own frame.
    void rethrow_if_failed() const {
        if (cancelled_) throw cancelled{};
        if (error_) std::rethrow_exception(error_);
    }

    std::coroutine_handle<> continuation_;
    std::exception_ptr error_;  // what the coroutine threw, unless it was `cancelled`
    bool cancelled_ = false;    // the coroutine ended by anyio::cancelled
    start_mode mode_ = start_mode::detached;
};

template <class T>
class task_promise : public task_promise_base {
public:
    task<T> get_return_object() noexcept;
    template <class U>
    requires std::is_convertible_v<U&&, T>
    void return_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        value_.emplace(std::forward<U>(value));
    }
    T take() {
        rethrow_if_failed();
        return std::move(*value_);
    }

private:
    std::optional<T> value_;
};

template <>
class task_promise<void> : public task_promise_base {
public:
    task<void> get_return_object() noexcept;
    void return_void() const noexcept {}
    void take() const { rethrow_if_failed(); }
};

}  // namespace detail

namespace detail {
struct task_access;
}

template <class T>
class [[nodiscard]] task {
    static_assert(!std::is_reference_v<T>, "anyio::task<T&> is not supported; return a pointer");

public:
    using promise_type = detail::task_promise<T>;
    using value_type = T;

    task() noexcept = default;
    task(task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    task& operator=(task&& other) noexcept {
        if (this != &other) {
            reset();
            handle_ = std::exchange(other.handle_, {});
        }
        return *this;
    }
    task(const task&) = delete;
    task& operator=(const task&) = delete;
    ~task() { reset(); }

    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(handle_); }

    // Awaiting is a checkpoint only if the task's body contains one.
    // Cancellation: whatever the body does with it. Thread safety: loop thread only.
    auto operator co_await() && noexcept {
        struct awaiter {
            std::coroutine_handle<promise_type> child;
            bool await_ready() const noexcept { return false; }
            bool await_suspend(std::coroutine_handle<> parent) {
                auto& p = child.promise();
                p.continuation_ = parent;
                p.mode_ = detail::start_mode::running_inline;
                child.resume();
                if (p.mode_ == detail::start_mode::completed_inline) return false;
                p.mode_ = detail::start_mode::detached;
                return true;
            }
            T await_resume() { return child.promise().take(); }
        };
        return awaiter{handle_};
    }

private:
    friend promise_type;
    friend struct detail::task_access;
    explicit task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
    void reset() noexcept {
        if (handle_) std::exchange(handle_, {}).destroy();
    }

    std::coroutine_handle<promise_type> handle_;
};

namespace detail {
template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
    return task<T>(std::coroutine_handle<task_promise<T>>::from_promise(*this));
}
inline task<void> task_promise<void>::get_return_object() noexcept {
    return task<void>(std::coroutine_handle<task_promise<void>>::from_promise(*this));
}

// How a task ended, for the runtime's own bookkeeping: no rethrow needed to find out.
struct task_outcome {
    std::exception_ptr error;  // null if it returned or was cancelled
    bool cancelled = false;    // it ended by anyio::cancelled
};

struct task_access {
    // Takes the coroutine out of `t` to run as the outermost coroutine of a task: when it
    // ends, it calls root.root_done instead of resuming an awaiter. The caller resumes it
    // and destroys it (in root_done at the latest).
    static std::coroutine_handle<> release_as_root(task<void>&& t, task_root& root) noexcept {
        auto handle = std::exchange(t.handle_, {});
        auto& p = handle.promise();
        p.mode_ = start_mode::root;
        // Never resumed: only a carrier for the root while mode_ says so.
        p.continuation_ = std::coroutine_handle<>::from_address(&root);
        return handle;
    }

    // Awaits `t` like co_await, but reports its exception instead of rethrowing it.
    static auto settle(task<void>&& t) noexcept {
        struct awaiter {
            task<void> child;
            bool await_ready() const noexcept { return false; }
            bool await_suspend(std::coroutine_handle<> parent) {
                return std::move(child).operator co_await().await_suspend(parent);
            }
            task_outcome await_resume() noexcept {
                auto& p = child.handle_.promise();
                return {p.error_, p.cancelled_};
            }
        };
        return awaiter{std::move(t)};
    }
};

template <class>
inline constexpr bool is_task_v = false;
template <class T>
inline constexpr bool is_task_v<task<T>> = true;
}  // namespace detail

// Callables that produce a task when invoked with Args.
template <class F, class... Args>
concept task_function =
    std::invocable<F&, Args&...> && detail::is_task_v<std::invoke_result_t<F&, Args&...>>;

template <class F, class... Args>
using task_result_t = typename std::invoke_result_t<F&, Args&...>::value_type;

// How an API that keeps a callable and its arguments for later (task_group::start_soon and
// start, to_thread::run_sync, from_thread::run / run_sync, blocking_portal::call and
// start_task_soon) calls it: like std::thread. The callable and each argument are
// decay-copied when the API is called, and each copy is handed to the callable as an
// rvalue when it runs (once). So a parameter `T&` cannot bind a copy: the function would
// change the copy and the caller would never see it. std::ref(x) shares x (its
// std::reference_wrapper converts to T&); `T`, `const T&` and `T&&` get the copy, which
// lives as long as the call, so a coroutine may keep a reference to it.
//
// The concepts below take the stored types: F and S... as kept (decayed); an S that is an
// lvalue reference is an argument the API itself passes as an lvalue (task_status&).
namespace detail {
template <class F, class... S>
concept invocable_with_copies = std::is_invocable_v<F&, S...>;

// Callable with the copies as lvalues but not as rvalues: a copy would bind to a non-const
// reference parameter. The APIs' constraints admit this case, so that
// check_argument_copies' message is what the user reads instead of a failed constraint.
template <class F, class... S>
concept copy_binds_to_reference = !invocable_with_copies<F, S...> && std::is_invocable_v<F&, S&...>;

// The constraint: callable with the copies, or failing only by copy_binds_to_reference.
template <class F, class... S>
concept callable_with_copies = invocable_with_copies<F, S...> || copy_binds_to_reference<F, S...>;

// What calling the copies yields (with lvalues in the rejected case, for the signature's
// sake: check_argument_copies stops the compilation there).
template <class F, class... S>
struct copies_invoke_result : std::invoke_result<F&, S&...> {};
template <class F, class... S>
requires invocable_with_copies<F, S...>
struct copies_invoke_result<F, S...> : std::invoke_result<F&, S...> {
};
template <class F, class... S>
using copies_invoke_result_t = typename copies_invoke_result<F, S...>::type;

// Callables that produce a task when called with the copies.
template <class F, class... S>
concept task_function_of_copies =
    callable_with_copies<F, S...> && is_task_v<copies_invoke_result_t<F, S...>>;

// An argument as it would arrive if std::ref's wrapper were unwrapped (it is not: a
// wrapper converts to T& only where a parameter asks for exactly T&).
template <class S>
struct unwrapped_copy {
    using type = S;
};
template <class T>
struct unwrapped_copy<std::reference_wrapper<T>> {
    using type = T&;
};

// The copy_binds_to_reference case that comes from a std::ref passed to a deduced
// parameter (`auto&`), which the wrapper itself cannot bind to: a message of its own.
template <class F, class... S>
concept wrapper_to_deduced_parameter = copy_binds_to_reference<F, S...> &&
    std::is_invocable_v<F&, typename unwrapped_copy<S>::type...>;

// Stops the compilation with a readable message in the copy_binds_to_reference case; the
// caller skips its body when this returns false, so no further errors follow.
template <class F, class... S>
constexpr bool check_argument_copies() {
    if constexpr (wrapper_to_deduced_parameter<F, S...>) {
        static_assert(!wrapper_to_deduced_parameter<F, S...>,
                      "anyio: a std::ref(x) argument reaches a deduced reference parameter "
                      "(auto&), which cannot take its std::reference_wrapper (as with "
                      "std::thread, the wrapper converts to T& only for a parameter of type "
                      "T&): name the parameter's type, or take the wrapper and call .get().");
    } else {
        static_assert(!copy_binds_to_reference<F, S...>,
                      "anyio: an argument binds to a non-const reference parameter. The task "
                      "gets its own copy of each argument (as std::thread does), so pass "
                      "std::ref(x) to share x, or take the parameter by value or by const "
                      "reference.");
    }
    return !copy_binds_to_reference<F, S...>;
}

// fn(copies...), each copy moved out of `copies` (a tuple). Once per tuple.
template <class F, class Tuple>
decltype(auto) invoke_with_copies(F& fn, Tuple& copies) {
    return std::apply(
        [&fn](auto&... copy) -> decltype(auto) { return std::invoke(fn, std::move(copy)...); },
        copies);
}
}  // namespace detail

}  // namespace anyio
