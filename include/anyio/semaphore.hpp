#pragma once
// anyio::semaphore: a counter of tokens that tasks take and give back (AnyIO's
// Semaphore). Not bound to tasks: any task may release.
//
// acquire() is a checkpoint and cancellable; a cancelled waiter never consumes a token.
// Waiters are served in FIFO order: release() hands the token directly to the first
// waiter. Loop thread only.

#include <anyio/detail/runtime.hpp>
#include <anyio/detail/waiter_list.hpp>

#include <coroutine>
#include <cstddef>
#include <optional>

namespace anyio {

class semaphore;

namespace detail {
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

private:
    friend class anyio::semaphore;
    friend class waiter_list<semaphore_acquire_awaiter>;
    bool withdraw() noexcept override;

    semaphore& sem_;
    semaphore_acquire_awaiter* prev_ = nullptr;
    semaphore_acquire_awaiter* next_ = nullptr;
};
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
    // Takes a token if one is available; never a checkpoint.
    [[nodiscard]] bool try_acquire() noexcept;
    // Gives a token back (to the first waiter, if any). Throws std::logic_error if the
    // count would exceed max_value.
    void release();

    [[nodiscard]] std::ptrdiff_t value() const noexcept { return value_; }
    [[nodiscard]] std::optional<std::ptrdiff_t> max_value() const noexcept { return max_; }

private:
    friend class detail::semaphore_acquire_awaiter;
    std::ptrdiff_t value_;
    std::optional<std::ptrdiff_t> max_;
    detail::waiter_list<detail::semaphore_acquire_awaiter> waiters_;
};

}  // namespace anyio
