#pragma once
// anyio::blocking_portal: an event loop running in a thread of its own, for code that has
// no loop (a plain main(), a callback from a C library) to run tasks in (AnyIO's
// start_blocking_portal).
//
//     anyio::blocking_portal portal = anyio::start_blocking_portal();
//     int n = portal.call([]() -> anyio::task<int> { co_await ...; co_return 1; });
//     anyio::portal_future<void> job = portal.start_task_soon(serve_forever);
//     auto [server, port] = portal.start_task(serve_on_some_port);  // once it is listening
//     ...
//     job.cancel();   // or let the portal's destructor cancel it
//
// The portal's thread runs anyio::run and blocks every asynchronous signal; signal
// receivers opened in its tasks work (the process-wide handler wakes the loop from
// whichever thread the kernel picked). Its loop does not claim Ctrl+C: SIGINT keeps
// whatever disposition the program gave it. A program built around a portal that wants
// Ctrl+C (and SIGTERM) to stop it gracefully uses anyio::run_with_portal
// (<anyio/portal_main.hpp>) instead.
//
// Calls run as tasks in the portal's loop, each in a cancel scope of its own, as children
// of one task group. call, start_task, start_task_soon, stop and wait_for_stop block or
// wait for the portal's loop, so they throw std::logic_error on the portal's own thread (a
// task in the portal would wait for itself); from any other thread they are safe,
// concurrently too.
//
// Errors a calling thread sees, all std::exceptions (anyio::cancelled, which is not one,
// stays inside the loop):
// - the task's own exception, rethrown as it is;
// - anyio::portal_call_cancelled when the task was cancelled: reason() says whether by
//   portal_future::cancel(), by stop(true) or the destructor, or by a termination signal
//   (run_with_portal, with signo());
// - anyio::closed_resource_error for a call after the portal stopped ("...: the portal has
//   stopped", or "...: the portal was stopped by SIGINT (2)"). A call racing with stop()
//   either runs (and is cancelled if stop cancels the remaining tasks) or throws this.

#include <anyio/detail/portal_start.hpp>
#include <anyio/detail/thread_call.hpp>
#include <anyio/exceptions.hpp>

#include <chrono>
#include <concepts>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace anyio {

class blocking_portal;
struct run_options;

namespace detail {
class portal_core;  // src/thread/portal_core.hpp
// run_with_portal's portal (src/thread/portal_main.cpp).
blocking_portal start_main_portal(const run_options& options);
}  // namespace detail

// The outcome of blocking_portal::start_task_soon or start_task, like std::future (and
// AnyIO's concurrent.futures.Future): get() blocks until the task finished. Thread safety:
// one thread at a time per future, but never the portal's own thread for get() / wait()
// (it would wait for itself). Destroying the future leaves the task running.
template <class T>
class portal_future {
public:
    portal_future() = default;

    // False for a default-constructed future and after get().
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(call_); }
    // Blocks until the task finished; returns its value or rethrows its exception
    // (anyio::portal_call_cancelled if it was cancelled). Once: the future is then invalid.
    T get() {
        auto call = std::move(checked());
        return call->take();
    }
    void wait() const { checked()->wait(); }
    // Blocks until the task finished or `timeout` passed; true if it finished.
    template <class Rep, class Period>
    [[nodiscard]] bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
        return wait_until(std::chrono::steady_clock::now() +
                          std::chrono::ceil<std::chrono::steady_clock::duration>(timeout));
    }
    // Blocks until the task finished or `deadline` passed; true if it finished.
    template <class Clock, class Duration>
    [[nodiscard]] bool wait_until(std::chrono::time_point<Clock, Duration> deadline) const {
        return checked()->wait_until(
            std::chrono::steady_clock::now() +
            std::chrono::ceil<std::chrono::steady_clock::duration>(deadline - Clock::now()));
    }
    [[nodiscard]] bool done() const { return checked()->done(); }
    // Cancels the task's own cancel scope: unless the task finished (or finishes anyway),
    // get() throws portal_call_cancelled (reason future_cancelled), once the task's
    // cleanup has run; concurrent.futures would raise CancelledError at once instead. Does
    // not wait. Any thread.
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

// What blocking_portal::start_task returns: the task's future and the value the task
// passed to task_status::started() (AnyIO's `(future, value)` pair; no value for a
// task_status<void>). `auto [future, value] = portal.start_task(fn);`
template <class R, class V = void>
struct started_task {
    portal_future<R> future;
    V value;
};
template <class R>
struct started_task<R, void> {
    portal_future<R> future;
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
    // inside a task). Returns the value or rethrows (portal_call_cancelled if the task was
    // cancelled). fn and args are decay-copied and live until the call finished; the
    // copies are passed as rvalues, as std::thread does (a `T&` parameter is a compile
    // error: pass std::ref(x)).
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

    // Starts fn(status, args...) in the portal's loop, like task_group::start, and blocks
    // until the task calls status.started(value) (AnyIO's start_task): fn's first
    // parameter is a task_status<V>&, and fn returns anyio::task<R>. Returns the task's
    // future and the value. If the task fails, returns or is cancelled before started(),
    // start_task throws that (std::runtime_error if it just returned;
    // portal_call_cancelled if cancelled). Arguments as for call().
    template <class F, class... Args,
              class V = typename detail::status_param<std::decay_t<F>>::type>
    requires detail::startable_task<F, V, Args...>
    auto start_task(F&& fn, Args&&... args)
        -> started_task<detail::start_result_t<F, V, Args...>, V> {
        auto c = detail::make_start_call<V>(std::forward<F>(fn), std::forward<Args>(args)...);
        submit(c, "anyio::blocking_portal::start_task");
        portal_future<detail::start_result_t<F, V, Args...>> future(c);
        if constexpr (std::is_void_v<V>) {
            c->take_started();
            return {std::move(future)};
        } else {
            V value = c->take_started();
            return {std::move(future), std::move(value)};
        }
    }

    // Lets the tasks still running finish (or, with cancel_remaining, cancels them), then
    // ends the loop and joins the thread. Later calls throw closed_resource_error; a
    // second stop() only waits for the first.
    void stop(bool cancel_remaining = false);

    // False once the portal stops or begins to: stop() was called, or a termination
    // signal stopped it (run_with_portal). False for a moved-from portal.
    [[nodiscard]] bool running() const noexcept;

    // Blocks until the portal stops or begins to (stop() from another thread, or, for the
    // portal of run_with_portal, Ctrl+C or a graceful signal): how a blocking main waits
    // for Ctrl+C. Returns the signal's number, 0 if stop() came first.
    int wait_for_stop();
    // The same, giving up after `timeout`: true if the portal is stopping.
    //     while (!portal.wait_for_stop_for(1s)) print_progress();
    template <class Rep, class Period>
    [[nodiscard]] bool wait_for_stop_for(std::chrono::duration<Rep, Period> timeout) {
        return wait_for_stop_until(std::chrono::steady_clock::now() +
                                   std::chrono::ceil<std::chrono::steady_clock::duration>(timeout));
    }
    // The termination signal that stopped the portal (run_with_portal), 0 if none did.
    [[nodiscard]] int stop_signal() const noexcept;

private:
    friend blocking_portal start_blocking_portal();
    friend blocking_portal detail::start_main_portal(const run_options& options);
    explicit blocking_portal(std::unique_ptr<detail::portal_core> core) noexcept;
    void submit(const std::shared_ptr<detail::thread_request>& call, const char* what);
    bool wait_for_stop_until(std::chrono::steady_clock::time_point deadline);

    std::unique_ptr<detail::portal_core> core_;
};

// Starts a thread running an event loop and returns the portal to it once the loop runs.
// Throws std::system_error if the thread cannot be created.
[[nodiscard]] blocking_portal start_blocking_portal();

}  // namespace anyio
