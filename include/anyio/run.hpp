#pragma once
// anyio::run: the entry point. Runs a task on a new event loop in the calling thread.

#include <anyio/exceptions.hpp>
#include <anyio/task.hpp>

#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

namespace anyio {

namespace detail {
// Runs `main` to completion on a new loop bound to this thread (throws std::logic_error
// if the thread already runs one). Rethrows what `main` threw; throws
// keyboard_interrupt if Ctrl+C cancelled it.
void run_on_new_loop(task<void> main);

template <class T>
task<void> store_result(task<T> t, std::optional<T>& out) {
    out.emplace(co_await std::move(t));
}

[[noreturn]] void die_by_sigint() noexcept;
}  // namespace detail

// Runs fn(args...) (a callable returning anyio::task<T>) on a new event loop in the
// calling thread and returns its T, or rethrows its exception. Any thread may call run;
// each gets its own loop; a thread cannot run two loops at once.
//
// Ctrl+C: if SIGINT is at its default disposition when run starts, the first SIGINT
// cancels the whole task tree, every task runs its cleanup, and run then throws
// anyio::keyboard_interrupt; a second SIGINT during cleanup ends the process at once
// (the default action of SIGINT). While a signal receiver for SIGINT is open, it owns
// SIGINT instead. A SIGINT handler installed by someone else is left alone, and run
// restores on return whatever it found.
template <class F, class... Args>
requires task_function<F, Args...>
auto run(F&& fn, Args&&... args) -> task_result_t<F, Args...> {
    using result_t = task_result_t<F, Args...>;
    if constexpr (std::is_void_v<result_t>) {
        detail::run_on_new_loop(std::invoke(fn, args...));
    } else {
        std::optional<result_t> result;
        detail::run_on_new_loop(detail::store_result(std::invoke(fn, args...), result));
        return std::move(*result);
    }
}

// The one-liner for main(): runs like anyio::run and returns 0 (or the task's int
// result); if Ctrl+C ended the run, all cleanup has run and the process then dies by
// SIGINT the Unix way (default disposition restored and SIGINT re-raised), so a shell or
// supervisor sees "killed by SIGINT" rather than a normal exit.
//
//     int main() { return anyio::run_main(main_task); }
template <class F, class... Args>
requires task_function<F, Args...>
int run_main(F&& fn, Args&&... args) {
    try {
        if constexpr (std::is_same_v<task_result_t<F, Args...>, int>) {
            return run(std::forward<F>(fn), std::forward<Args>(args)...);
        } else {
            run(std::forward<F>(fn), std::forward<Args>(args)...);
            return 0;
        }
    } catch (const keyboard_interrupt&) {
        detail::die_by_sigint();
    }
}

}  // namespace anyio
