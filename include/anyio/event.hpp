#pragma once
// anyio::event: a one-shot flag that tasks can wait for (AnyIO's Event).

#include <anyio/detail/runtime.hpp>
#include <anyio/detail/waiter_list.hpp>

#include <coroutine>
#include <cstddef>

namespace anyio {

class event;

// What event::statistics() reports (AnyIO's EventStatistics).
struct event_statistics {
    std::size_t tasks_waiting = 0;
};

namespace detail {
class event_wait_awaiter : protected blocking_operation {
public:
    explicit event_wait_awaiter(event& ev) noexcept : event_(ev) {}
    // Movable until awaited (unless_cancelled wraps it).
    event_wait_awaiter(event_wait_awaiter&&) noexcept = default;
    event_wait_awaiter& operator=(const event_wait_awaiter&) = delete;
    ~event_wait_awaiter() = default;

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h);
    void await_resume() const { throw_if_aborted(); }

private:
    friend class anyio::event;
    friend class waiter_list<event_wait_awaiter>;
    bool withdraw() noexcept override;
    event& event_;
    event_wait_awaiter* prev_ = nullptr;
    event_wait_awaiter* next_ = nullptr;
};
}  // namespace detail

class event {
public:
    event() = default;
    event(const event&) = delete;
    event& operator=(const event&) = delete;
    ~event() = default;

    // Sets the flag and wakes every waiter. Idempotent. Loop thread only.
    void set() noexcept;
    [[nodiscard]] bool is_set() const noexcept { return set_; }

    // Waits until the flag is set. A checkpoint (also when already set); cancellation
    // stops the wait with `cancelled`. Loop thread only.
    [[nodiscard]] detail::event_wait_awaiter wait() noexcept {
        return detail::event_wait_awaiter(*this);
    }

    [[nodiscard]] event_statistics statistics() const noexcept { return {waiters_.size()}; }

private:
    friend class detail::event_wait_awaiter;
    detail::waiter_list<detail::event_wait_awaiter> waiters_;
    bool set_ = false;
};

}  // namespace anyio
