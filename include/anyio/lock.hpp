#pragma once
// anyio::lock: a non-reentrant mutual-exclusion lock for tasks (AnyIO's Lock).
//
// acquire() is a checkpoint and cancellable; a cancelled waiter never takes the lock.
// Waiters get the lock in FIFO order: release() hands it directly to the first waiter.
// Ownership belongs to the task that acquired it; only that task may release it.
// Loop thread only.

#include <anyio/detail/runtime.hpp>
#include <anyio/detail/waiter_list.hpp>
#include <anyio/task.hpp>

#include <coroutine>
#include <type_traits>
#include <utility>

namespace anyio {

class lock;
class condition;

namespace detail {
class condition_wait_awaiter;
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

    // Takes the lock if it is free and nobody waits; never a checkpoint.
    [[nodiscard]] bool try_acquire();

    // Releases the lock; the first waiter (if any) gets it. Throws std::logic_error if
    // the current task does not hold it.
    void release();

    [[nodiscard]] bool locked() const noexcept { return owner_ != nullptr; }
    // True when the task running now holds the lock.
    [[nodiscard]] bool owned_by_current_task() const noexcept;

    // Runs `body()` (a callable returning anyio::task<T>) holding the lock; releases it
    // when the body ends, also by an exception. Yields the body's result.
    template <class F>
    requires task_function<F>
    auto with(F body) -> task<task_result_t<F>> {
        co_await acquire();
        struct releaser {
            lock& l;
            ~releaser() { l.release_unchecked(); }
        } guard{*this};
        co_return co_await body();
    }

private:
    friend class detail::lock_acquire_awaiter;
    friend class condition;
    friend class detail::condition_wait_awaiter;
    // Releases without the ownership check (the owner is known to be the caller).
    void release_unchecked() noexcept;

    detail::task_state* owner_ = nullptr;
    detail::waiter_list<detail::lock_acquire_awaiter> waiters_;
};

}  // namespace anyio
