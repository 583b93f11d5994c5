#pragma once
// A call that a plain thread asks an event loop to run, and then waits for: the common part
// of anyio::from_thread::run / run_sync and anyio::blocking_portal::call / start_task_soon.
//
// The asking thread creates the call (the callable and its decay-copied arguments inside),
// posts it to the loop, and blocks in wait(). On the loop, run() invokes it inside a task
// and a cancel scope of its own, stores the value, and settles the call, which wakes the
// waiter. Shared ownership: whichever side lets go last frees it, so neither may outlive
// the other by accident. A call that can no longer run (its loop ended, its portal stopped)
// is settled with an error instead, so a waiter never blocks forever.
//
// anyio::cancelled never reaches the asking thread: a call cut short by cancellation is
// settled with a std::exception that says why (portal_call_cancelled, worker_cancelled),
// made by whoever serves the call.

#include <anyio/detail/runtime.hpp>
#include <anyio/task.hpp>

#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace anyio::detail {

class loop_gate;  // src/thread/loop_gate.hpp: a refcounted door into one loop

// Where a call's value waits to be taken (nothing for void).
template <class T>
class result_slot {
public:
    template <class U>
    void set(U&& value) {
        value_.emplace(std::forward<U>(value));
    }
    // Stores fn(args...), the stored arguments moved into the call (invoke_with_copies).
    template <class F, class Tuple>
    void fill(F& fn, Tuple& args) {
        value_.emplace(invoke_with_copies(fn, args));
    }
    T take() { return std::move(*value_); }

private:
    std::optional<T> value_;
};
template <>
class result_slot<void> {
public:
    template <class F, class Tuple>
    void fill(F& fn, Tuple& args) {
        invoke_with_copies(fn, args);
    }
    void take() const noexcept {}
};

// What fn(args...) yields when run by a loop for another thread: the task's value for a
// function returning anyio::task<T>, else the plain return value.
// F and Args are the stored (decayed) types, called as invoke_with_copies does.
template <class F, class... Args>
struct call_result {
    using type = copies_invoke_result_t<F, Args...>;
};
template <class F, class... Args>
requires task_function_of_copies<F, Args...>
struct call_result<F, Args...> {
    using type = typename copies_invoke_result_t<F, Args...>::value_type;
};
template <class F, class... Args>
using call_result_t = typename call_result<std::decay_t<F>, std::decay_t<Args>...>::type;

// What cut a call short when `cancelled` ended it: its own scope (thread_request::cancel),
// a scope around it (the server's), or nothing anyio knows of (the task threw `cancelled`
// itself, say from a scope of its own that leaked it).
enum class cancel_origin { own_scope, enclosing_scope, task };
// Makes the error such a call is settled with instead of `cancelled`. Loop thread.
using cancellation_errors = std::function<std::exception_ptr(cancel_origin)>;

class thread_request : public std::enable_shared_from_this<thread_request> {
public:
    thread_request(const thread_request&) = delete;
    thread_request& operator=(const thread_request&) = delete;
    virtual ~thread_request();

    // Loop thread, inside a task: runs the call in a cancel scope of its own (`shielded`:
    // hiding the cancellation of the scopes around it), then settles it with its outcome,
    // or with `errors(origin)` if `cancelled` ended it. `errors` must outlive the task.
    // Never throws.
    task<void> run(bool shielded, const cancellation_errors& errors);

    // Any thread: ends the call with `error` (a null pointer means success) and wakes the
    // waiter; later calls do nothing. Unregisters it from its gate first.
    void settle(std::exception_ptr error) noexcept;

    // The asking thread (or any other but the loop's): blocks until the call is settled.
    void wait() const;
    // Same, until `deadline`; true if settled.
    [[nodiscard]] bool wait_until(std::chrono::steady_clock::time_point deadline) const;
    [[nodiscard]] bool done() const;
    // Any thread: cancels the call's own scope on the loop, or makes it start cancelled if
    // it has not started yet. Nothing if it is settled or its loop has ended.
    void cancel();

    // A handshake before the outcome (blocking_portal::start_task). Loop thread: the task
    // is ready; wakes the asking thread. Asking thread: blocks until that or until the call
    // is settled, whichever comes first; true if the task reported ready.
    void report_started() noexcept;
    [[nodiscard]] bool wait_started() const;

    // Set once by the poster before the call is published to the loop, then read-only.
    std::shared_ptr<loop_gate> gate;
    // Loop thread only: the scope run() is in (null outside run()), and a cancel() that
    // arrived before run() started.
    cancel_scope* scope = nullptr;
    bool cancel_requested = false;

protected:
    thread_request() = default;
    // Runs the call in the current task and stores its value; throws what the call threw.
    virtual task<void> invoke() = 0;
    // After wait(): rethrows the error the call was settled with, if any. Once.
    void rethrow_if_failed();

private:
    mutable std::mutex mutex_;
    mutable std::condition_variable settled_;
    bool claimed_ = false;      // guarded by mutex_: one settle() won
    bool done_ = false;         // guarded by mutex_: the outcome is readable
    bool started_ = false;      // guarded by mutex_: report_started() was called
    std::exception_ptr error_;  // guarded by mutex_ until done_, then read-only
};

// A call producing a T.
template <class T>
class thread_result : public thread_request {
public:
    // Blocks until settled; returns the value or rethrows. Call once.
    T take() {
        wait();
        rethrow_if_failed();
        return slot_.take();
    }

protected:
    // Written by invoke() on the loop thread before settle(); read by take() after wait():
    // the request's mutex orders the two.
    result_slot<T> slot_;
};

template <class T, class F, class... Args>
class thread_call final : public thread_result<T> {
public:
    template <class G, class... A>
    explicit thread_call(G&& g, A&&... a)
        : fn_(std::in_place, std::forward<G>(g)), args_(std::in_place, std::forward<A>(a)...) {}

private:
    // Like task_group::start_soon: the copies of the arguments are moved into the call
    // (it runs once) and live as long as the call, so a coroutine taking them by const or
    // rvalue reference stays valid. They are destroyed here, on the loop, before run()
    // settles the call: the loop's task may hold the call a moment longer than the waiter,
    // and the copies' destructors must not run on the loop while the asking thread already
    // uses what they captured (a shared_ptr's use_count, a lock).
    task<void> invoke() override {
        const release_copies_on_exit release(this);
        if constexpr (task_function_of_copies<F, Args...>) {
            if constexpr (std::is_void_v<T>) {
                co_await invoke_with_copies(*fn_, *args_);
            } else {
                this->slot_.set(co_await invoke_with_copies(*fn_, *args_));
            }
        } else {
            this->slot_.fill(*fn_, *args_);
        }
        co_return;  // a coroutine also when no branch above awaits
    }

    // Also when the call throws: a local is destroyed before the exception leaves invoke().
    struct release_copies_on_exit {
        explicit release_copies_on_exit(thread_call* owner) noexcept : call(owner) {}
        release_copies_on_exit(const release_copies_on_exit&) = delete;
        release_copies_on_exit& operator=(const release_copies_on_exit&) = delete;
        ~release_copies_on_exit() {
            call->args_.reset();
            call->fn_.reset();
        }
        thread_call* call;
    };

    std::optional<F> fn_;
    std::optional<std::tuple<Args...>> args_;
};

// Callable by a thread_call: fn(args...) with the copies (or failing only because a copy
// would bind to a non-const reference, which make_thread_call reports).
template <class F, class... Args>
concept thread_callable = callable_with_copies<std::decay_t<F>, std::decay_t<Args>...>;

// Null, after a failed check_argument_copies (the message is then the only error).
template <class F, class... Args>
auto make_thread_call(F&& fn, Args&&... args)
    -> std::shared_ptr<thread_result<call_result_t<F, Args...>>> {
    using result_t = call_result_t<F, Args...>;
    static_assert(!std::is_reference_v<result_t>,
                  "anyio: a function run on a loop for another thread must return a value "
                  "(or a pointer), not a reference");
    if constexpr (check_argument_copies<std::decay_t<F>, std::decay_t<Args>...>()) {
        return std::make_shared<thread_call<result_t, std::decay_t<F>, std::decay_t<Args>...>>(
            std::forward<F>(fn), std::forward<Args>(args)...);
    } else {
        return nullptr;
    }
}

}  // namespace anyio::detail
