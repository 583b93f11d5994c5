#pragma once
// anyio::capacity_limiter: at most total_tokens() borrowers at a time may hold a token
// (AnyIO's CapacityLimiter). A borrower holds at most one token, and only the borrower's
// own release gives it back.
//
// The borrower is the current task (acquire, try_acquire, release) or any object named
// by its address (acquire_on_behalf_of, try_acquire_on_behalf_of, release_on_behalf_of:
// a job, a connection, whatever the capacity is spent on, independent of which task
// waits or releases). A task's identity as a borrower is task_id::address().
//
// acquire() is a checkpoint and cancellable; a cancelled waiter never takes a token.
// Waiters are served in FIFO order; release() and raising the total hand tokens directly
// to waiters. Every acquire has a _guard twin yielding a capacity_limiter_guard that
// gives the token back at the end of its scope. Loop thread only.

#include <anyio/detail/acquisition_guard.hpp>
#include <anyio/detail/runtime.hpp>
#include <anyio/detail/waiter_list.hpp>

#include <coroutine>
#include <cstddef>
#include <vector>

namespace anyio {

class capacity_limiter;

// What capacity_limiter::statistics() reports (AnyIO's CapacityLimiterStatistics).
struct capacity_limiter_statistics {
    std::size_t borrowed_tokens = 0;
    std::size_t total_tokens = 0;
    // Who holds the tokens, in borrowing order: a task as its task_id::address(), any
    // other borrower as the address it was given as.
    std::vector<const void*> borrowers;
    std::size_t tasks_waiting = 0;
};

namespace detail {
// A capacity_limiter_guard's token: the limiter and its borrower.
struct limiter_hold {
    static constexpr const char* name = "anyio::capacity_limiter_guard";
    capacity_limiter* held = nullptr;
    const void* borrower = nullptr;

    [[nodiscard]] bool engaged() const noexcept { return held != nullptr; }
    void release();
    void release_at_scope_end() noexcept;
};

class limiter_acquire_awaiter : protected blocking_operation {
public:
    limiter_acquire_awaiter(capacity_limiter& l, const void* borrower) noexcept
        : limiter_(l), borrower_(borrower) {}
    // Movable until awaited (unless_cancelled wraps it).
    limiter_acquire_awaiter(limiter_acquire_awaiter&&) noexcept = default;
    limiter_acquire_awaiter& operator=(const limiter_acquire_awaiter&) = delete;
    ~limiter_acquire_awaiter() = default;

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h);
    void await_resume() const { throw_if_aborted(); }

protected:
    [[nodiscard]] limiter_hold hold() const noexcept { return {&limiter_, borrower_}; }

private:
    friend class anyio::capacity_limiter;
    friend class waiter_list<limiter_acquire_awaiter>;
    bool withdraw() noexcept override;

    capacity_limiter& limiter_;
    const void* borrower_;  // gets the token; the waiting task is task_
    limiter_acquire_awaiter* prev_ = nullptr;
    limiter_acquire_awaiter* next_ = nullptr;
};
}  // namespace detail

// Holds a borrower's token until it goes out of scope (or release()). Move-only. It gives
// back the token of the borrower it was acquired for, whichever task ends it, so it may
// move to another task. If that token was released by hand meanwhile, the destructor
// leaves the limiter alone.
using capacity_limiter_guard = detail::acquisition_guard<detail::limiter_hold>;

namespace detail {
using limiter_guard_awaiter = guard_awaiter<limiter_acquire_awaiter>;
}  // namespace detail

class capacity_limiter {
public:
    // Throws std::invalid_argument if total_tokens < 1.
    explicit capacity_limiter(std::size_t total_tokens);
    capacity_limiter(const capacity_limiter&) = delete;
    capacity_limiter& operator=(const capacity_limiter&) = delete;
    ~capacity_limiter() = default;

    // Borrows a token for the current task, waiting for one if none is free. A
    // checkpoint; cancellation stops the wait with `cancelled` and takes nothing. Throws
    // std::logic_error (at the call) if the task already holds a token.
    [[nodiscard]] detail::limiter_acquire_awaiter acquire();
    [[nodiscard]] detail::limiter_guard_awaiter acquire_guard();
    // Borrows a token if one is free and nobody waits; never a checkpoint. Throws
    // std::logic_error if the task already holds a token. The guard is empty (false) when
    // no token was taken.
    [[nodiscard]] bool try_acquire();
    [[nodiscard]] capacity_limiter_guard try_acquire_guard();
    // Returns the current task's token. Throws std::logic_error if it holds none.
    void release();

    // The same for `borrower`, any object's address (AnyIO's acquire_on_behalf_of,
    // acquire_on_behalf_of_nowait, release_on_behalf_of). The current task waits; the
    // borrower holds the token. std::invalid_argument for a null borrower;
    // std::logic_error (at the call) if it already holds a token or another task waits
    // for one on its behalf, and from release_on_behalf_of if it holds none.
    [[nodiscard]] detail::limiter_acquire_awaiter acquire_on_behalf_of(const void* borrower);
    [[nodiscard]] detail::limiter_guard_awaiter acquire_guard_on_behalf_of(const void* borrower);
    [[nodiscard]] bool try_acquire_on_behalf_of(const void* borrower);
    [[nodiscard]] capacity_limiter_guard try_acquire_guard_on_behalf_of(const void* borrower);
    void release_on_behalf_of(const void* borrower);

    [[nodiscard]] std::size_t total_tokens() const noexcept { return total_; }
    // Changes the number of tokens (>= 1, else std::invalid_argument). Raising it hands
    // the new tokens to waiters; lowering it lets current holders keep theirs.
    void set_total_tokens(std::size_t total);
    [[nodiscard]] std::size_t borrowed_tokens() const noexcept { return borrowers_.size(); }
    // total - borrowed, or 0 while more are borrowed than the (lowered) total.
    [[nodiscard]] std::size_t available_tokens() const noexcept {
        return borrowers_.size() >= total_ ? 0 : total_ - borrowers_.size();
    }
    // True if the current task holds a token.
    [[nodiscard]] bool held_by_current_task() const noexcept;

    [[nodiscard]] capacity_limiter_statistics statistics() const {
        return {borrowers_.size(), total_, borrowers_, waiters_.size()};
    }

private:
    friend class detail::limiter_acquire_awaiter;
    friend struct detail::limiter_hold;
    const void* current_task_borrower(const char* what) const;
    bool holds(const void* borrower) const noexcept;
    void check_can_borrow(const void* borrower, const char* what) const;
    bool try_borrow(const void* borrower);
    // Gives the borrower's token back; false if it holds none.
    bool give_back(const void* borrower) noexcept;
    void hand_out() noexcept;

    std::size_t total_;
    std::vector<const void*> borrowers_;
    detail::waiter_list<detail::limiter_acquire_awaiter> waiters_;
};

}  // namespace anyio
