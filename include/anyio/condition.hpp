#pragma once
// anyio::condition: a condition variable for tasks, bound to an anyio::lock (AnyIO's
// Condition). It owns its lock, or uses one given to the constructor.
//
// wait() must be called holding the lock: it releases the lock, waits for notify(), and
// re-acquires the lock before returning, also when cancelled (the re-acquire ignores
// cancellation, like AnyIO's shielded re-acquire). A waiter that was notified returns
// normally; a cancelled waiter never consumes a notification. FIFO order. Loop thread
// only.
//
// A lock_guard from acquire_guard() holds the lock across wait(), which gives the lock
// back to the same task before it returns.

#include <anyio/detail/runtime.hpp>
#include <anyio/detail/waiter_list.hpp>
#include <anyio/lock.hpp>
#include <anyio/task.hpp>

#include <coroutine>
#include <cstddef>
#include <limits>
#include <utility>

namespace anyio {

class condition;

// What condition::statistics() reports (AnyIO's ConditionStatistics).
struct condition_statistics {
    std::size_t tasks_waiting = 0;           // in wait(), not yet notified
    anyio::lock_statistics lock_statistics;  // of the underlying lock
};

namespace detail {
class condition_wait_awaiter : protected blocking_operation {
public:
    explicit condition_wait_awaiter(condition& c) noexcept : cond_(c) {}
    condition_wait_awaiter(condition_wait_awaiter&&) noexcept = default;
    condition_wait_awaiter& operator=(const condition_wait_awaiter&) = delete;
    ~condition_wait_awaiter() = default;

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h);
    void await_resume() const { throw_if_aborted(); }
    // True once the wait released the lock (the caller must re-acquire it).
    [[nodiscard]] bool released_lock() const noexcept { return released_; }

private:
    friend class anyio::condition;
    friend class waiter_list<condition_wait_awaiter>;
    bool withdraw() noexcept override;

    condition& cond_;
    bool released_ = false;
    condition_wait_awaiter* prev_ = nullptr;
    condition_wait_awaiter* next_ = nullptr;
};
}  // namespace detail

class condition {
public:
    condition() noexcept : lock_(own_lock_) {}
    explicit condition(lock& l) noexcept : lock_(l) {}
    condition(const condition&) = delete;
    condition& operator=(const condition&) = delete;
    ~condition() = default;

    // The underlying lock's operations.
    [[nodiscard]] detail::lock_acquire_awaiter acquire() noexcept { return lock_.acquire(); }
    [[nodiscard]] detail::lock_guard_awaiter acquire_guard() noexcept {
        return lock_.acquire_guard();
    }
    [[nodiscard]] bool try_acquire() { return lock_.try_acquire(); }
    [[nodiscard]] lock_guard try_acquire_guard() { return lock_.try_acquire_guard(); }
    void release() { lock_.release(); }
    [[nodiscard]] bool locked() const noexcept { return lock_.locked(); }
    template <class F>
    requires task_function<std::decay_t<F>>
    auto with(F&& body) -> task<task_result_t<std::decay_t<F>>> {
        return lock_.with(std::forward<F>(body));
    }
    [[nodiscard]] anyio::lock& underlying_lock() noexcept { return lock_; }

    // Releases the lock, waits for a notification, re-acquires the lock. A checkpoint.
    // Throws std::logic_error if the current task does not hold the lock.
    [[nodiscard]] task<> wait();

    // Wakes up to `n` waiters (FIFO) / every waiter. The caller must hold the lock
    // (std::logic_error otherwise). Woken waiters then queue for the lock.
    void notify(std::size_t n = 1);
    void notify_all() { notify(std::numeric_limits<std::size_t>::max()); }

    [[nodiscard]] condition_statistics statistics() const noexcept {
        return {waiters_.size(), lock_.statistics()};
    }

private:
    friend class detail::condition_wait_awaiter;
    void check_held(const char* what) const;

    anyio::lock own_lock_;
    anyio::lock& lock_;
    detail::waiter_list<detail::condition_wait_awaiter> waiters_;
};

}  // namespace anyio
