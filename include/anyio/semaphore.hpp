#pragma once
// anyio::semaphore: a counter of tokens that tasks take and give back (AnyIO's
// Semaphore). Not bound to tasks: any task may release.
//
// acquire() is a checkpoint and cancellable; a cancelled waiter never consumes a token.
// Waiters are served in FIFO order: release() hands the token directly to the first
// waiter. acquire_guard() yields a semaphore_guard that gives the token back at the end
// of its scope. Loop thread only.

#include <anyio/detail/acquisition_guard.hpp>
#include <anyio/detail/runtime.hpp>
#include <anyio/detail/waiter_list.hpp>

#include <coroutine>
#include <cstddef>
#include <optional>

namespace anyio {

class semaphore;

// What semaphore::statistics() reports (AnyIO's SemaphoreStatistics).
struct semaphore_statistics {
    std::size_t tasks_waiting = 0;
};

namespace detail {
// A semaphore_guard's token.
struct semaphore_hold {
    static constexpr const char* name = "anyio::semaphore_guard";
    semaphore* held = nullptr;

    [[nodiscard]] bool engaged() const noexcept { return held != nullptr; }
    void release();
    void release_at_scope_end() noexcept;
};

class semaphore_acquire_awaiter : protected blocking_operation {
public:
    explicit semaphore_acquire_awaiter(semaphore& s) noexcept : sem_(s) {}
    // Movable until awaited (unless_cancelled wraps it).
    semaphore_acquire_awaiter(semaphore_acquire_awaiter&&) noexcept = default;
    semaphore_acquire_awaiter& operator=(const semaphore_acquire_awaiter&) = delete;
    ~semaphore_acquire_awaiter() = default;

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h);
    void await_resume() const { throw_if_aborted(); }

protected:
    [[nodiscard]] semaphore_hold hold() const noexcept { return {&sem_}; }

private:
    friend class anyio::semaphore;
    friend class waiter_list<semaphore_acquire_awaiter>;
    bool withdraw() noexcept override;

    semaphore& sem_;
    semaphore_acquire_awaiter* prev_ = nullptr;
    semaphore_acquire_awaiter* next_ = nullptr;
};
}  // namespace detail

// Holds one token of a semaphore until it goes out of scope (or release()). Move-only;
// a token is not tied to a task, so the guard may be moved to another task and released
// there. If the count is already at max_value when the guard ends (someone released a
// token they never took), the destructor drops its token instead of throwing.
using semaphore_guard = detail::acquisition_guard<detail::semaphore_hold>;

namespace detail {
using semaphore_guard_awaiter = guard_awaiter<semaphore_acquire_awaiter>;
}  // namespace detail

class semaphore {
public:
    // `initial` tokens; `max_value` (if given) bounds the count: releasing beyond it is an
    // error. Throws std::invalid_argument if initial < 0, max_value < 1 or
    // initial > max_value.
    explicit semaphore(std::ptrdiff_t initial, std::optional<std::ptrdiff_t> max_value = {});
    semaphore(const semaphore&) = delete;
    semaphore& operator=(const semaphore&) = delete;
    ~semaphore() = default;

    // Takes a token, waiting for one if none is left. A checkpoint (also when a token is
    // available); cancellation stops the wait with `cancelled` and takes nothing.
    [[nodiscard]] detail::semaphore_acquire_awaiter acquire() noexcept {
        return detail::semaphore_acquire_awaiter(*this);
    }
    // acquire(), yielding a semaphore_guard that gives the token back at the end of its
    // scope. Cancelled while waiting: no guard, nothing taken.
    [[nodiscard]] detail::semaphore_guard_awaiter acquire_guard() noexcept {
        return detail::semaphore_guard_awaiter(*this);
    }
    // Takes a token if one is available; never a checkpoint.
    [[nodiscard]] bool try_acquire() noexcept;
    // try_acquire() as a guard: an empty one (false) when no token was taken.
    [[nodiscard]] semaphore_guard try_acquire_guard() noexcept {
        return try_acquire() ? semaphore_guard(detail::semaphore_hold{this}) : semaphore_guard();
    }
    // Gives a token back (to the first waiter, if any). Throws std::logic_error if the
    // count would exceed max_value.
    void release();

    [[nodiscard]] std::ptrdiff_t value() const noexcept { return value_; }
    [[nodiscard]] std::optional<std::ptrdiff_t> max_value() const noexcept { return max_; }

    [[nodiscard]] semaphore_statistics statistics() const noexcept { return {waiters_.size()}; }

private:
    friend class detail::semaphore_acquire_awaiter;
    friend struct detail::semaphore_hold;
    // release() without the max_value error; false if the count is already at max_value.
    bool release_within_max() noexcept;

    std::ptrdiff_t value_;
    std::optional<std::ptrdiff_t> max_;
    detail::waiter_list<detail::semaphore_acquire_awaiter> waiters_;
};

}  // namespace anyio
