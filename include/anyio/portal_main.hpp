#pragma once
// anyio::run_with_portal: the entry point of a program built around a blocking portal (a
// plain main() doing blocking work, with tasks running in the portal), with Ctrl+C and
// the graceful signals handled as anyio::run_main handles them.
//
//     int main() {
//         anyio::run_options options;
//         options.graceful_signals = {SIGTERM};
//         return anyio::run_with_portal(options, [](anyio::blocking_portal& portal) {
//             auto server = portal.start_task_soon(serve, 8080);
//             int signo = portal.wait_for_stop();      // until Ctrl+C or SIGTERM
//             std::printf("stopping (signal %d)\n", signo);
//             return 0;
//         });   // the server's cleanup has run; the process then dies by that signal
//     }
//
// fn(portal, args...) runs on the calling thread and returns int (the exit status) or
// void (0). The portal's loop claims SIGINT and run_options::graceful_signals where they
// are at their default disposition, as anyio::run does. The first of them to arrive stops
// the portal: every portal task is cancelled (its cleanup runs in the loop), a call or
// portal_future::get in progress throws anyio::portal_call_cancelled (reason `signal`,
// signo()), a later call throws anyio::closed_resource_error ("...: the portal was stopped
// by SIGINT (2)"), and wait_for_stop() returns the signal's number; running() is false
// from then on. fn is not interrupted: it sees those errors, or polls
// running() / wait_for_stop_for(), and returns or unwinds.
//
// When fn returns or throws, the portal is stopped (tasks still running are cancelled and
// their cleanup runs). If a signal stopped the portal, the process then dies by that
// signal the Unix way, like run_main (stdio flushed, default disposition, the signal
// raised again: the parent sees WTERMSIG, a shell's $? is 128 + n; as PID 1 of a PID
// namespace, exit status 128 + n); what fn returned or threw is dropped. Otherwise
// run_with_portal returns what fn returned, or lets fn's exception through.
//
// run_options::on_second_interrupt applies until the portal is stopped: by default a
// second Ctrl+C while fn or the tasks clean up ends the process at once, by SIGINT.
// Invalid graceful_signals are refused (std::invalid_argument) before anything starts.
// fn must not move the portal away (its stop would then no longer end the process).

#include <anyio/blocking_portal.hpp>
#include <anyio/run.hpp>

#include <concepts>
#include <functional>
#include <type_traits>
#include <utility>

namespace anyio {

namespace detail {
// After fn: stops the portal, cancelling what still runs; then, if a signal stopped it,
// ends the process by that signal (die_by_signal).
void end_main_portal(blocking_portal& portal);
}  // namespace detail

template <class F, class... Args>
requires std::invocable<F, blocking_portal&, Args...>
int run_with_portal(const run_options& options, F&& fn, Args&&... args) {
    using result_t = std::invoke_result_t<F, blocking_portal&, Args...>;
    static_assert(std::is_void_v<result_t> || std::is_convertible_v<result_t, int>,
                  "anyio::run_with_portal: fn(portal, args...) must return int or void");
    blocking_portal portal = detail::start_main_portal(options);
    int status = 0;
    try {
        if constexpr (std::is_void_v<result_t>) {
            std::invoke(std::forward<F>(fn), portal, std::forward<Args>(args)...);
        } else {
            status = std::invoke(std::forward<F>(fn), portal, std::forward<Args>(args)...);
        }
    } catch (...) {
        detail::end_main_portal(portal);  // does not return if a signal stopped the portal
        throw;
    }
    detail::end_main_portal(portal);
    return status;
}

template <class F, class... Args>
requires std::invocable<F, blocking_portal&, Args...>
int run_with_portal(F&& fn, Args&&... args) {
    return run_with_portal(run_options{}, std::forward<F>(fn), std::forward<Args>(args)...);
}

}  // namespace anyio
