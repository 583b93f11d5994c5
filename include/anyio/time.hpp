#pragma once
// Time, sleeping and checkpoints.

#include <anyio/detail/runtime.hpp>
#include <anyio/exceptions.hpp>

#include <chrono>
#include <coroutine>
#include <optional>
#include <type_traits>
#include <utility>

namespace anyio {

// The loop's clock: monotonic, unaffected by wall-clock changes. Under a mock clock
// (run_options::clock) the loop's virtual time; on a thread that runs no loop, the
// monotonic clock. Every deadline in anyio is compared with this time.
[[nodiscard]] clock::time_point current_time() noexcept;

// When the calling task will be cancelled if nothing else cancels it first (Trio's
// current_effective_deadline): the earliest deadline of the cancel scopes around the task,
// up to and including the nearest shielded one (a shield hides the deadlines and the
// cancellation of the scopes outside it). Scopes entered by the tasks that started this
// one through task groups count too. clock::time_point::max() when no deadline applies;
// clock::time_point::min() when one of those scopes is already cancelled (the next
// checkpoint throws). Use it to size a blocking call or to pass a deadline to another
// process. Loop thread, inside a task only (std::logic_error elsewhere).
[[nodiscard]] clock::time_point current_effective_deadline();

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
        if (aborted_) throw cancelled{};
    }

protected:
    bool aborted_ = false;  // the task was cancelled: await_resume throws
};

// Trio's checkpoint_if_cancelled: decided in await_ready, so it never suspends; aborted_
// is the member unless_cancelled reads.
class checkpoint_if_cancelled_awaiter {
public:
    bool await_ready() {
        aborted_ = effectively_cancelled(require_task("checkpoint_if_cancelled()"));
        return true;
    }
    // Never called (await_ready is always true); the co_await expression needs it.
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    void await_resume() const {
        if (aborted_) throw cancelled{};
    }

protected:
    bool aborted_ = false;
};

class sleep_awaiter : protected blocking_operation {
public:
    explicit sleep_awaiter(clock::time_point deadline) noexcept { timer_.when = deadline; }
    // Movable until awaited (unless_cancelled wraps it).
    sleep_awaiter(sleep_awaiter&&) noexcept = default;
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

// Half a checkpoint: throws `cancelled` if the task is in a cancelled scope, and otherwise
// carries on at once without letting other tasks run (Trio's checkpoint_if_cancelled). For
// a loop of non-blocking work that must stay cancellable but is not worth a trip through
// the run queue each time: one call and a few pointer reads. It does not make the loop
// fair, so a long loop still needs an occasional checkpoint(). Awaited although it never
// suspends, so it reads like Trio's and works with unless_cancelled. Loop thread only.
[[nodiscard]] inline detail::checkpoint_if_cancelled_awaiter checkpoint_if_cancelled() noexcept {
    return {};
}

namespace detail {
// unless_cancelled(awaitable): the same operation, reporting cancellation as a value.
template <class Awaiter>
class unless_cancelled_awaiter : public Awaiter {
public:
    explicit unless_cancelled_awaiter(Awaiter&& inner) noexcept : Awaiter(std::move(inner)) {}
    auto await_resume() {
        using result_t = decltype(std::declval<Awaiter&>().await_resume());
        if constexpr (std::is_void_v<result_t>) {
            if (this->aborted_) return false;
            Awaiter::await_resume();
            return true;
        } else {
            if (this->aborted_) return std::optional<result_t>();
            return std::optional<result_t>(Awaiter::await_resume());
        }
    }
};
}  // namespace detail

// Error-code style cancellation for one operation: instead of throwing `cancelled`,
// `co_await unless_cancelled(op)` yields false (or an empty std::optional for operations
// that produce a value) when the task's scope is cancelled. The scope stays cancelled
// (every later checkpoint still throws), so return promptly. It saves the cost of a C++
// throw (about 1 us with g++ 12) where a task only needs to stop, e.g. a server's many
// idle waiters at shutdown. Works with checkpoint, checkpoint_if_cancelled, sleep,
// sleep_until, sleep_forever, event::wait and signal_receiver::receive / receive_info.
template <class Awaiter>
requires(!std::is_lvalue_reference_v<Awaiter>) && requires(Awaiter& a) {
    a.await_resume();
}
[[nodiscard]] auto unless_cancelled(Awaiter&& op) noexcept {
    return detail::unless_cancelled_awaiter<std::remove_cvref_t<Awaiter>>(std::move(op));
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

// Sleeps until the task is cancelled, then throws `cancelled`: it never returns normally
// (with unless_cancelled it yields false). For a task whose work is done by others or by
// its cleanup, e.g. one that holds a resource open until its scope is cancelled. No timer
// is armed. Loop thread only.
[[nodiscard]] inline detail::sleep_awaiter sleep_forever() noexcept {
    return detail::sleep_awaiter(clock::time_point::max());
}

}  // namespace anyio
