#pragma once
// Time, sleeping and checkpoints.

#include <anyio/detail/runtime.hpp>
#include <anyio/exceptions.hpp>

#include <chrono>
#include <coroutine>

namespace anyio {

// The loop's clock: monotonic, unaffected by wall-clock changes.
[[nodiscard]] clock::time_point current_time() noexcept;

// now + duration, saturating at clock::time_point::max() (so sleep(hours::max()) means
// "forever" instead of overflowing); a negative duration means now.
template <class Rep, class Period>
[[nodiscard]] clock::time_point deadline_after(std::chrono::duration<Rep, Period> duration) {
    const clock::time_point now = current_time();
    if (duration <= duration.zero()) return now;
    const auto room = clock::time_point::max() - now;
    if (std::chrono::duration<double>(duration) >= std::chrono::duration<double>(room)) {
        return clock::time_point::max();
    }
    return now + std::chrono::ceil<clock::duration>(duration);
}

namespace detail {

class checkpoint_awaiter {
public:
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h);
    void await_resume() const {
        if (cancelled_) throw cancelled{};
    }

private:
    bool cancelled_ = false;
};

class sleep_awaiter : blocking_operation {
public:
    explicit sleep_awaiter(clock::time_point deadline) noexcept { timer_.when = deadline; }
    sleep_awaiter(const sleep_awaiter&) = delete;
    sleep_awaiter& operator=(const sleep_awaiter&) = delete;
    ~sleep_awaiter() = default;

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h);
    void await_resume() const { throw_if_aborted(); }

private:
    bool withdraw() noexcept override;
    static void on_timer(timer_node& node) noexcept;

    timer_node timer_;
};

}  // namespace detail

// A checkpoint: throws `cancelled` if the task is in a cancelled scope, otherwise lets
// every other ready task run once before this one continues. Loop thread only.
[[nodiscard]] inline detail::checkpoint_awaiter checkpoint() noexcept {
    return {};
}

// Sleeps until `deadline` (monotonic). A checkpoint; cancellation ends the sleep at once
// with `cancelled`. A deadline in the past still yields once. Loop thread only.
[[nodiscard]] inline detail::sleep_awaiter sleep_until(clock::time_point deadline) noexcept {
    return detail::sleep_awaiter(deadline);
}

// Sleeps for `duration`; same rules as sleep_until.
template <class Rep, class Period>
[[nodiscard]] detail::sleep_awaiter sleep(std::chrono::duration<Rep, Period> duration) noexcept {
    return detail::sleep_awaiter(deadline_after(duration));
}

}  // namespace anyio
