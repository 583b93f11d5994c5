#include <anyio/run.hpp>

#include <anyio/cancel_scope.hpp>
#include <anyio/reap.hpp>
#include <anyio/signals.hpp>

#include "core/loop.hpp"
#include "signal/dispatcher.hpp"
#include "signal/registry.hpp"

#include <csignal>
#include <cstdlib>
#include <exception>
#include <optional>
#include <vector>

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

// Reaps orphans on every SIGCHLD until cancelled. The receiver opens before the first
// sweep, so a child that ended before it is reaped by the sweep and one that ends after
// it raises SIGCHLD for the receiver.
task<void> reap_on_sigchld() {
    auto sigchld = open_signal_receiver(SIGCHLD);
    for (;;) {
        reap_orphans_now();
        co_await sigchld.receive();
    }
}

root_coroutine run_reaper(cancel_scope& scope, bool& done) {
    try {
        scope_access::enter(scope, "anyio::run's orphan reaper");
        try {
            co_await reap_on_sigchld();
        } catch (...) {  // cancelled when main ended; nothing else is worth ending run for
        }
        scope_access::exit(scope);
    } catch (...) {
    }
    done = true;
}

bool reaps(const run_options& options, bool claim_termination) {
    if (!claim_termination) return false;
    switch (options.reap_orphans) {
        case orphan_reaping::when_pid1:
            return is_pid1();
        case orphan_reaping::always:
            return true;
        case orphan_reaping::never:
            return false;
    }
    return false;
}

// The reaper beside main: a second root task, cancelled once main is done.
class orphan_reaper {
public:
    explicit orphan_reaper(loop& lp) : coro_(run_reaper(scope_, done_)) {
        state_.owner = &lp;
        state_.resume_point = coro_.handle;
        lp.schedule(state_);
    }
    orphan_reaper(const orphan_reaper&) = delete;
    orphan_reaper& operator=(const orphan_reaper&) = delete;
    ~orphan_reaper() { coro_.handle.destroy(); }

    void finish(loop& lp) {
        scope_.cancel();
        lp.run_until(done_);
    }

private:
    task_state state_;
    cancel_scope scope_;
    bool done_ = false;
    root_coroutine coro_;
};

}  // namespace

void validate(const run_options& options) {
    if (!options.graceful_signals.empty()) {
        signals::validate(options.graceful_signals, "anyio::run_options::graceful_signals");
    }
}

void run_on_new_loop(task<void> main, const run_options& options, bool claim_termination) {
    loop lp;
    lp.use_clock(options.clock);
    task_state root;
    root.owner = &lp;
    cancel_scope root_scope;
    int terminated_by = 0;
    std::vector<int> terminating{SIGINT};
    terminating.insert(terminating.end(), options.graceful_signals.begin(),
                       options.graceful_signals.end());
    const unsigned force_exit_count =
        options.on_second_interrupt == second_interrupt::force_exit ? 2 : 3;
    if (claim_termination) {
        lp.signals().claim_termination(terminating, force_exit_count, [&](int signo) noexcept {
            if (terminated_by == 0) terminated_by = signo;
            root_scope.cancel();
        });
    }
    std::exception_ptr error;
    bool done = false;
    root_coroutine coro = run_root(std::move(main), root_scope, error, done);
    root.resume_point = coro.handle;
    lp.schedule(root);
    std::optional<orphan_reaper> reaper;
    try {
        if (reaps(options, claim_termination)) {
            if (options.reap_orphans == orphan_reaping::always) become_child_subreaper();
            reaper.emplace(lp);
        }
        lp.run_until(done);
        if (reaper) reaper->finish(lp);
    } catch (...) {
        reaper.reset();
        coro.handle.destroy();
        if (claim_termination) lp.signals().release_termination();
        throw;
    }
    reaper.reset();
    coro.handle.destroy();
    if (claim_termination) lp.signals().release_termination();
    if (terminated_by != 0) exit_by_signal_if_uncaught();
    if (terminated_by == SIGINT) throw keyboard_interrupt{};
    if (terminated_by != 0) throw terminated{terminated_by};
    if (error) std::rethrow_exception(error);
}

}  // namespace anyio::detail
