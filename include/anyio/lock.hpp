#pragma once
// anyio::lock: a non-reentrant mutual-exclusion lock for tasks (AnyIO's Lock).
//
// acquire() is a checkpoint and cancellable; a cancelled waiter never takes the lock.
// Waiters get the lock in FIFO order: release() hands it directly to the first waiter.
// Ownership belongs to the task that acquired it; only that task may release it.
// Loop thread only.
//
// Three ways to hold it:
//     co_await l.acquire(); ... l.release();                    // by hand
//     anyio::lock_guard held = co_await l.acquire_guard(); ...  // released at scope end
//     co_await l.with([&]() -> anyio::task<> { ... });          // around a body

#include <anyio/detail/acquisition_guard.hpp>
#include <anyio/detail/awaited_callable.hpp>
#include <anyio/detail/runtime.hpp>
#include <anyio/detail/waiter_list.hpp>
#include <anyio/task.hpp>
#include <anyio/task_id.hpp>

#include <coroutine>
#include <cstddef>
#include <type_traits>
#include <utility>

namespace anyio {

class lock;
class condition;

// What lock::statistics() reports (AnyIO's LockStatistics).
struct lock_statistics {
    bool locked = false;
    task_id owner;  // the holding task; no task when not locked
    std::size_t tasks_waiting = 0;
};

namespace detail {
class condition_wait_awaiter;

// A lock_guard's acquisition: the lock and the task it was taken for.
struct lock_hold {
    static constexpr const char* name = "anyio::lock_guard";
    lock* held = nullptr;
    task_state* task = nullptr;

    [[nodiscard]] bool engaged() const noexcept { return held != nullptr; }
    void release();
    void release_at_scope_end() noexcept;
};

class lock_acquire_awaiter : protected blocking_operation {
public:
    lock_acquire_awaiter(lock& l, bool shielded) noexcept : lock_(l), shielded_(shielded) {}
    // Movable until awaited (unless_cancelled wraps it).
    lock_acquire_awaiter(lock_acquire_awaiter&&) noexcept = default;
    lock_acquire_awaiter& operator=(const lock_acquire_awaiter&) = delete;
    ~lock_acquire_awaiter() = default;

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h);
    void await_resume() const { throw_if_aborted(); }

protected:
    [[nodiscard]] lock_hold hold() const noexcept { return {&lock_, task_}; }

private:
    friend class anyio::lock;
    friend class waiter_list<lock_acquire_awaiter>;
    bool withdraw() noexcept override;

    lock& lock_;
    bool shielded_;  // ignores cancellation (condition::wait re-acquiring)
    lock_acquire_awaiter* prev_ = nullptr;
    lock_acquire_awaiter* next_ = nullptr;
};
}  // namespace detail

// Holds a lock until it goes out of scope (or release()). Move-only.
//
// A lock belongs to a task, and so does its guard: release it (or let it go out of scope)
// in the task that acquired it. release() in another task throws std::logic_error, as
// lock::release() does, and the guard keeps the lock; the destructor, which cannot
// throw, calls std::terminate there, as std::thread's does for a forgotten join (giving
// the lock back would break the rule, keeping it would deadlock the waiters). To pass a
// permission between tasks, use a semaphore_guard. If the task released the lock by hand
// meanwhile, the guard's destructor leaves it alone.
using lock_guard = detail::acquisition_guard<detail::lock_hold>;

namespace detail {
using lock_guard_awaiter = guard_awaiter<lock_acquire_awaiter>;
}  // namespace detail

class lock {
public:
    lock() = default;
    lock(const lock&) = delete;
    lock& operator=(const lock&) = delete;
    ~lock() = default;

    // Waits until the lock is free and takes it. A checkpoint (also when the lock is
    // free); cancellation stops the wait with `cancelled` and the lock is not taken.
    // Acquiring a lock this task already holds waits forever (not reentrant).
    [[nodiscard]] detail::lock_acquire_awaiter acquire() noexcept {
        return detail::lock_acquire_awaiter(*this, false);
    }
    // acquire(), yielding a lock_guard that releases the lock at the end of its scope.
    // Cancelled while waiting: no guard, nothing taken.
    [[nodiscard]] detail::lock_guard_awaiter acquire_guard() noexcept {
        return detail::lock_guard_awaiter(*this, false);
    }

    // Takes the lock if it is free and nobody waits; never a checkpoint.
    [[nodiscard]] bool try_acquire();
    // try_acquire() as a guard: an empty one (false) when the lock was not taken.
    [[nodiscard]] lock_guard try_acquire_guard();

    // Releases the lock; the first waiter (if any) gets it. Throws std::logic_error if
    // the current task does not hold it.
    void release();

    [[nodiscard]] bool locked() const noexcept { return owner_ != nullptr; }
    // True when the task running now holds the lock.
    [[nodiscard]] bool owned_by_current_task() const noexcept;

    [[nodiscard]] lock_statistics statistics() const noexcept {
        return {locked(), task_id(owner_), waiters_.size()};
    }

    // Runs `body()` (a callable returning anyio::task<T>) holding the lock; releases it
    // when the body ends, also by an exception. Yields the body's result. `body` is
    // decay-copied and lives until the returned task finished.
    template <class F>
    requires task_function<std::decay_t<F>>
    auto with(F&& body) -> task<task_result_t<std::decay_t<F>>> {
        detail::check_awaited_callable<F>();
        return with_body(std::decay_t<F>(std::forward<F>(body)));
    }

private:
    template <task_function F>
    auto with_body(F body) -> task<task_result_t<F>> {
        lock_guard held = co_await acquire_guard();
        co_return co_await body();
    }

    friend class detail::lock_acquire_awaiter;
    friend struct detail::lock_hold;
    friend class condition;
    friend class detail::condition_wait_awaiter;
    // Releases without the ownership check (the owner is known to be the caller).
    void release_unchecked() noexcept;

    detail::task_state* owner_ = nullptr;
    detail::waiter_list<detail::lock_acquire_awaiter> waiters_;
};

}  // namespace anyio
