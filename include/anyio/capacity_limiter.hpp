#pragma once
// anyio::capacity_limiter: at most total_tokens() tasks at a time may hold a token
// (AnyIO's CapacityLimiter). Tokens are borrowed per task: a task holds at most one, and
// only the task holding a token may release it.
//
// acquire() is a checkpoint and cancellable; a cancelled waiter never takes a token.
// Waiters are served in FIFO order; release() and raising the total hand tokens directly
// to waiters. Loop thread only.

#include <anyio/detail/runtime.hpp>
#include <anyio/detail/waiter_list.hpp>

#include <coroutine>
#include <cstddef>
#include <vector>

namespace anyio {

class capacity_limiter;

namespace detail {
class limiter_acquire_awaiter : protected blocking_operation {
public:
    explicit limiter_acquire_awaiter(capacity_limiter& l) noexcept : limiter_(l) {}
    // Movable until awaited (unless_cancelled wraps it).
    limiter_acquire_awaiter(limiter_acquire_awaiter&&) noexcept = default;
    limiter_acquire_awaiter& operator=(const limiter_acquire_awaiter&) = delete;
    ~limiter_acquire_awaiter() = default;

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h);
    void await_resume() const { throw_if_aborted(); }

private:
    friend class anyio::capacity_limiter;
    friend class waiter_list<limiter_acquire_awaiter>;
    bool withdraw() noexcept override;

    capacity_limiter& limiter_;
    limiter_acquire_awaiter* prev_ = nullptr;
    limiter_acquire_awaiter* next_ = nullptr;
};
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
    // Borrows a token if one is free and nobody waits; never a checkpoint. Throws
    // std::logic_error if the task already holds a token.
    [[nodiscard]] bool try_acquire();
    // Returns the current task's token. Throws std::logic_error if it holds none.
    void release();

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

private:
    friend class detail::limiter_acquire_awaiter;
    bool holds(const detail::task_state* task) const noexcept;
    void check_not_holding(const detail::task_state& task, const char* what) const;
    void hand_out() noexcept;

    std::size_t total_;
    std::vector<const detail::task_state*> borrowers_;
    detail::waiter_list<detail::limiter_acquire_awaiter> waiters_;
};

}  // namespace anyio
