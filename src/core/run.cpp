#include <anyio/run.hpp>

#include <anyio/cancel_scope.hpp>

#include "core/loop.hpp"
#include "signal/dispatcher.hpp"

#include <csignal>
#include <cstdlib>
#include <exception>

#include <unistd.h>

namespace anyio::detail {

namespace {

// The root of the task tree: a coroutine the loop resumes, never awaited by anyone.
struct root_coroutine {
    struct promise_type {
        root_coroutine get_return_object() noexcept {
            return {std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_always initial_suspend() const noexcept { return {}; }
        std::suspend_always final_suspend() const noexcept { return {}; }
        void return_void() const noexcept {}
        [[noreturn]] void unhandled_exception() const noexcept { std::abort(); }
    };
    std::coroutine_handle<promise_type> handle;
};

root_coroutine run_root(task<void> main, cancel_scope& root_scope, std::exception_ptr& error,
                        bool& done) {
    try {
        scope_access::enter(root_scope, "anyio::run");
        try {
            co_await std::move(main);
        } catch (const cancelled&) {
            // Only Ctrl+C cancels the root scope; anything else escaping is a stray.
            if (!root_scope.cancel_called()) error = std::current_exception();
        } catch (...) {
            error = std::current_exception();
        }
        scope_access::exit(root_scope);
    } catch (...) {
        error = std::current_exception();
    }
    done = true;
}

}  // namespace

void run_on_new_loop(task<void> main) {
    loop lp;
    task_state root;
    root.owner = &lp;
    cancel_scope root_scope;
    bool interrupted = false;
    const bool owns_sigint = lp.signals().claim_keyboard_interrupt([&]() noexcept {
        interrupted = true;
        root_scope.cancel();
    });
    std::exception_ptr error;
    bool done = false;
    root_coroutine coro = run_root(std::move(main), root_scope, error, done);
    root.resume_point = coro.handle;
    lp.schedule(root);
    try {
        lp.run_until(done);
    } catch (...) {
        coro.handle.destroy();
        if (owns_sigint) lp.signals().release_keyboard_interrupt();
        throw;
    }
    coro.handle.destroy();
    if (owns_sigint) lp.signals().release_keyboard_interrupt();
    if (interrupted) throw keyboard_interrupt{};
    if (error) std::rethrow_exception(error);
}

void die_by_sigint() noexcept {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGINT, &dfl, nullptr);
    sigset_t only_sigint;
    ::sigemptyset(&only_sigint);
    ::sigaddset(&only_sigint, SIGINT);
    ::pthread_sigmask(SIG_UNBLOCK, &only_sigint, nullptr);
    ::raise(SIGINT);
    ::_exit(128 + SIGINT);  // only if SIGINT could not end us
}

}  // namespace anyio::detail
