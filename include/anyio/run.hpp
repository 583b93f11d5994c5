#pragma once
// anyio::run: the entry point. Runs a task on a new event loop in the calling thread.

#include <anyio/exceptions.hpp>
#include <anyio/task.hpp>

#include <csignal>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace anyio {

namespace testing {
class mock_clock;  // <anyio/testing/mock_clock.hpp>
}

// What a second Ctrl+C (or a second graceful signal) does while the first one's cleanup
// runs.
enum class second_interrupt {
    force_exit,  // end the process at once, by that signal (the default)
    defer,       // let the cleanup finish, then report the first; a third one forces exit
};

// When anyio::run reaps orphaned children (<anyio/reap.hpp> has the rule: never a child
// the library started or the program marked as its own).
enum class orphan_reaping {
    when_pid1,  // only as the init of a PID namespace, where nobody else would (default)
    always,     // always, and the process becomes a child subreaper so orphans come to it
    never,
};

struct run_options {
    second_interrupt on_second_interrupt = second_interrupt::force_exit;
    // Signals that end the run the way Ctrl+C does: the first one cancels the whole task
    // tree, all cleanup runs, then run throws anyio::terminated{signo}. Claimed only where
    // the signal is at its default disposition; an open receiver of the signal owns it.
    // Typical: {SIGTERM}. Refused (std::invalid_argument, before anything starts) like
    // open_signal_receiver refuses signals, SIGKILL and SIGSTOP included.
    std::vector<int> graceful_signals;
    // Where the loop takes its time from: nullptr (the default) for the monotonic clock,
    // or a mock clock for tests of timeout logic (virtual time that moves by jumps or
    // autojump; <anyio/testing/mock_clock.hpp>). The clock must outlive the run and drive
    // no other loop meanwhile (std::logic_error before anything starts).
    testing::mock_clock* clock = nullptr;
    // Orphaned children reaped as SIGCHLD arrives, while run runs (a task of its own
    // beside main, ended when main ends). Only the run that owns Ctrl+C reaps (not a
    // blocking portal's loop).
    orphan_reaping reap_orphans = orphan_reaping::when_pid1;
};

namespace detail {
// Runs `main` to completion on a new loop bound to this thread (throws std::logic_error
// if the thread already runs one). Rethrows what `main` threw; throws
// keyboard_interrupt / terminated if a signal cancelled it. `claim_termination` false
// leaves Ctrl+C and the graceful signals alone (a blocking portal's loop: the process's
// Ctrl+C belongs to the program, not to a helper thread).
void run_on_new_loop(task<void> main, const run_options& options, bool claim_termination = true);
void validate(const run_options& options);
// Flushes stdio, then ends the process by `signo` at its default disposition (exit status
// 128 + signo where the kernel will not kill us by it: the init of a PID namespace).
[[noreturn]] void die_by_signal(int signo) noexcept;
// Installs (once) a std::terminate hook that does die_by_signal for a keyboard_interrupt
// or terminated escaping main or a thread, and chains to the previous hook otherwise.
void exit_by_signal_if_uncaught() noexcept;

template <class T>
task<void> store_result(task<T> t, std::optional<T>& out) {
    out.emplace(co_await std::move(t));
}
}  // namespace detail

// Runs fn(args...) (a callable returning anyio::task<T>) on a new event loop in the
// calling thread and returns its T, or rethrows its exception. Any thread may call run;
// each gets its own loop; a thread cannot run two loops at once.
//
// Ctrl+C: if SIGINT is at its default disposition when run starts, the first SIGINT
// cancels the whole task tree, every task runs its cleanup, and run then throws
// anyio::keyboard_interrupt; a second SIGINT during cleanup ends the process at once
// (the default action of SIGINT). A "second" SIGINT is a second request: a delivery from
// the same sender within signal_request_window() of the first (a terminal or `timeout`
// reaching the process twice) is the same request (signals.hpp). While a signal receiver
// for SIGINT is open, it owns SIGINT instead. A SIGINT handler installed by someone else
// is left alone, and run restores on return whatever it found.
//
// A program may let keyboard_interrupt (or terminated) escape main, as in
// `int main() { anyio::run(main_task); }`: before throwing it, run installs a
// std::terminate hook that, for these two exceptions only, flushes stdio and ends the
// process by the signal (exit status 128 + signo where the kernel will not kill it: PID
// 1), and hands every other exception to the hook that was there before. A program that
// catches keyboard_interrupt itself keeps full control; run_main does the same without
// the hook.
//
// `options` adds graceful termination signals and the second-interrupt policy.
template <class F, class... Args>
requires task_function<F, Args...>
auto run(const run_options& options, F&& fn, Args&&... args) -> task_result_t<F, Args...> {
    using result_t = task_result_t<F, Args...>;
    detail::validate(options);
    if constexpr (std::is_void_v<result_t>) {
        detail::run_on_new_loop(std::invoke(fn, args...), options);
    } else {
        std::optional<result_t> result;
        detail::run_on_new_loop(detail::store_result(std::invoke(fn, args...), result), options);
        return std::move(*result);
    }
}

template <class F, class... Args>
requires task_function<F, Args...>
auto run(F&& fn, Args&&... args) -> task_result_t<F, Args...> {
    return run(run_options{}, std::forward<F>(fn), std::forward<Args>(args)...);
}

// The one-liner for main(): runs like anyio::run and returns 0 (or the task's int
// result); if Ctrl+C ended the run, all cleanup has run and the process then dies by
// SIGINT the Unix way (default disposition restored and SIGINT re-raised), so a shell or
// supervisor sees "killed by SIGINT" rather than a normal exit.
//
//     int main() { return anyio::run_main(main_task); }
//
// With run_options::graceful_signals (e.g. {SIGTERM}) the same holds for those signals:
// cleanup first, then death by that signal.
template <class F, class... Args>
requires task_function<F, Args...>
int run_main(const run_options& options, F&& fn, Args&&... args) {
    try {
        if constexpr (std::is_same_v<task_result_t<F, Args...>, int>) {
            return run(options, std::forward<F>(fn), std::forward<Args>(args)...);
        } else {
            run(options, std::forward<F>(fn), std::forward<Args>(args)...);
            return 0;
        }
    } catch (const keyboard_interrupt&) {
        detail::die_by_signal(SIGINT);
    } catch (const terminated& e) {
        detail::die_by_signal(e.signo);
    }
}

template <class F, class... Args>
requires task_function<F, Args...>
int run_main(F&& fn, Args&&... args) {
    return run_main(run_options{}, std::forward<F>(fn), std::forward<Args>(args)...);
}

}  // namespace anyio
