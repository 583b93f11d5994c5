#pragma once
// anyio::blocking_portal: an event loop running in a thread of its own, for code that has
// no loop (a plain main(), a callback from a C library) to run tasks in (AnyIO's
// start_blocking_portal).
//
//     anyio::blocking_portal portal = anyio::start_blocking_portal();
//     int n = portal.call([]() -> anyio::task<int> { co_await ...; co_return 1; });
//     anyio::portal_future<void> job = portal.start_task_soon(serve_forever);
//     ...
//     job.cancel();   // or let the portal's destructor cancel it
//
// The portal's thread runs anyio::run and blocks every asynchronous signal; signal
// receivers opened in its tasks work (the process-wide handler wakes the loop from
// whichever thread the kernel picked). Its loop does not claim Ctrl+C: SIGINT keeps
// whatever disposition the program gave it.
//
// Calls run as tasks in the portal's loop, each in a cancel scope of its own, as children
// of one task group. call, start_task_soon and stop block or wait for the portal's loop,
// so they throw std::logic_error on the portal's own thread (a task in the portal would
// wait for itself); from any other thread they are safe, concurrently too. After stop()
// they throw anyio::closed_resource_error; a call racing with stop() either runs (and is
// cancelled if stop cancels the remaining tasks) or throws closed_resource_error.

#include <anyio/detail/thread_call.hpp>
#include <anyio/exceptions.hpp>

#include <chrono>
#include <concepts>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace anyio {

namespace detail {
class portal_core;  // src/thread/blocking_portal.cpp
}

// The outcome of blocking_portal::start_task_soon, like std::future: get() blocks until
// the task finished. Thread safety: one thread at a time per future, but never the
// portal's own thread for get() / wait() (it would wait for itself).
template <class T>
class portal_future {
public:
    portal_future() = default;

    // False for a default-constructed future and after get().
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(call_); }
    // Blocks until the task finished; returns its value or rethrows its exception
    // (anyio::cancelled if it was cancelled). Once: the future is then invalid.
    T get() {
        auto call = std::move(checked());
        return call->take();
    }
    void wait() const { checked()->wait(); }
    // Blocks until the task finished or `timeout` passed; true if it finished.
    template <class Rep, class Period>
    [[nodiscard]] bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
        return checked()->wait_until(
            std::chrono::steady_clock::now() +
            std::chrono::ceil<std::chrono::steady_clock::duration>(timeout));
    }
    [[nodiscard]] bool done() const { return checked()->done(); }
    // Cancels the task's own cancel scope (so get() throws anyio::cancelled unless the task
    // already finished or finishes anyway). Does not wait. Any thread.
    void cancel() { checked()->cancel(); }

private:
    friend class blocking_portal;
    explicit portal_future(std::shared_ptr<detail::thread_result<T>> call)
        : call_(std::move(call)) {}
    const std::shared_ptr<detail::thread_result<T>>& checked() const {
        if (!call_) throw std::logic_error("anyio::portal_future: no task (invalid future)");
        return call_;
    }
    std::shared_ptr<detail::thread_result<T>>& checked() {
        if (!call_) throw std::logic_error("anyio::portal_future: no task (invalid future)");
        return call_;
    }

    std::shared_ptr<detail::thread_result<T>> call_;
};

class blocking_portal {
public:
    blocking_portal(blocking_portal&&) noexcept;
    // Stops this portal (cancelling its remaining tasks) before taking the other's.
    blocking_portal& operator=(blocking_portal&&) noexcept;
    blocking_portal(const blocking_portal&) = delete;
    blocking_portal& operator=(const blocking_portal&) = delete;
    // stop(true): cancels the tasks still running, waits for them, joins the thread.
    // Must not run on the portal's own thread (std::terminate).
    ~blocking_portal();

    // Runs fn(args...) in the portal's loop and blocks until it finished: fn may return
    // anyio::task<T> (awaited as a task) or a plain value (called on the loop's thread,
    // inside a task). Returns the value or rethrows (anyio::cancelled included). fn and
    // args are decay-copied and live until the call finished; the copies are passed as
    // rvalues, as std::thread does (a `T&` parameter is a compile error: pass std::ref(x)).
    template <class F, class... Args>
    requires detail::thread_callable<F, Args...>
    auto call(F&& fn, Args&&... args) -> detail::call_result_t<F, Args...> {
        auto c = detail::make_thread_call(std::forward<F>(fn), std::forward<Args>(args)...);
        submit(c, "anyio::blocking_portal::call");
        return c->take();
    }

    // Starts fn(args...) in the portal's loop and returns at once; the future yields its
    // outcome and can cancel it. Arguments as for call().
    template <class F, class... Args>
    requires detail::thread_callable<F, Args...>
    auto start_task_soon(F&& fn, Args&&... args)
        -> portal_future<detail::call_result_t<F, Args...>> {
        auto c = detail::make_thread_call(std::forward<F>(fn), std::forward<Args>(args)...);
        submit(c, "anyio::blocking_portal::start_task_soon");
        return portal_future<detail::call_result_t<F, Args...>>(std::move(c));
    }

    // Lets the tasks still running finish (or, with cancel_remaining, cancels them), then
    // ends the loop and joins the thread. Later calls throw closed_resource_error; a
    // second stop() only waits for the first.
    void stop(bool cancel_remaining = false);

    // False once stop() was called (and for a moved-from portal).
    [[nodiscard]] bool running() const noexcept;

private:
    friend blocking_portal start_blocking_portal();
    explicit blocking_portal(std::unique_ptr<detail::portal_core> core) noexcept;
    void submit(const std::shared_ptr<detail::thread_request>& call, const char* what);

    std::unique_ptr<detail::portal_core> core_;
};

// Starts a thread running an event loop and returns the portal to it once the loop runs.
// Throws std::system_error if the thread cannot be created.
[[nodiscard]] blocking_portal start_blocking_portal();

}  // namespace anyio
