#include <anyio/testing/run_test.hpp>

#include <anyio/cancel_scope.hpp>

#include "core/describe_exception.hpp"
#include "core/loop.hpp"
#include "thread/signal_mask.hpp"

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace anyio::detail {

namespace {

// What the test's thread (which runs the loop) and the guard's thread share.
struct guard_state {
    std::mutex mutex;
    std::condition_variable finished_changed;
    bool finished = false;   // the run returned; guarded by mutex
    loop* target = nullptr;  // the loop, while the body runs in it; guarded by mutex
    // Loop thread only.
    cancel_scope* scope = nullptr;  // the body's scope, while it runs
    bool expired = false;           // the guard cancelled the body
};

// Publishes the body's scope and loop while the body's frame lives, however it ends: the
// guard posts to the loop only while it exists, and the posted cancel finds the scope only
// while it does.
class attachment {
public:
    attachment(guard_state& state, cancel_scope& scope) : state_(state) {
        state_.scope = &scope;
        const std::lock_guard lock(state_.mutex);
        state_.target = loop::current();
    }
    attachment(const attachment&) = delete;
    attachment& operator=(const attachment&) = delete;
    ~attachment() {
        state_.scope = nullptr;
        const std::lock_guard lock(state_.mutex);
        state_.target = nullptr;
    }

private:
    guard_state& state_;
};

task<void> guarded(task<void> body, std::shared_ptr<guard_state> state) {
    cancel_scope scope;
    const attachment attached(*state, scope);
    co_await scope.run([&body]() -> task<void> { co_await std::move(body); });
}

std::string seconds_text(std::chrono::nanoseconds d) {
    char text[32];
    std::snprintf(text, sizeof text, "%g s", std::chrono::duration<double>(d).count());
    return text;
}

// Waits on the guard's thread until the run finished or `limit` of real time passed; true
// if it finished. A limit too large for the clock's range waits for the finish alone.
bool wait_for_finish(guard_state& state, std::unique_lock<std::mutex>& lock,
                     std::chrono::nanoseconds limit) {
    const auto finished = [&state] { return state.finished; };
    if (limit >= std::chrono::hours(24 * 365 * 100)) {
        state.finished_changed.wait(lock, finished);
        return true;
    }
    return state.finished_changed.wait_for(lock, limit, finished);
}

void watch(const std::shared_ptr<guard_state>& state, const testing::test_options& options) {
    std::unique_lock lock(state->mutex);
    if (wait_for_finish(*state, lock, options.hang_guard)) return;
    if (state->target != nullptr) {
        state->target->post([state] {
            if (state->scope == nullptr) return;  // the body ended meanwhile
            state->expired = true;
            state->scope->cancel();
        });
    }
    if (wait_for_finish(*state, lock, options.unwind_grace)) return;
    std::fflush(stdout);
    std::fprintf(stderr,
                 "anyio::testing::run_test: the hang guard expired after %s of real time, and the "
                 "body did not finish within %s of being cancelled (a shielded or uncancellable "
                 "wait, a worker thread that never returns, a task that never reaches a "
                 "checkpoint?): aborting\n",
                 seconds_text(options.hang_guard).c_str(),
                 seconds_text(options.unwind_grace).c_str());
    std::abort();
}

std::string expiry_message(const testing::test_options& options, const std::exception_ptr& error) {
    std::string message = "anyio::testing::run_test: the hang guard expired after " +
                          seconds_text(options.hang_guard) +
                          " of real time: something never woke up, and the body was cancelled";
    if (error) message += "; the body then failed with: " + describe_exception(error);
    return message;
}

}  // namespace

void run_test_on_new_loop(task<void> body, const testing::test_options& options) {
    auto state = std::make_shared<guard_state>();
    run_options run;
    run.clock = options.clock;
    std::thread guard;
    {
        // Signals meant for the process go to the test's threads, never to the guard.
        const async_signals_blocked blocked;
        guard = std::thread(watch, state, options);
    }
    std::exception_ptr error;
    try {
        run_on_new_loop(guarded(std::move(body), state), run);
    } catch (...) {
        error = std::current_exception();
    }
    {
        const std::lock_guard lock(state->mutex);
        state->finished = true;
    }
    state->finished_changed.notify_all();
    guard.join();
    // `expired` was written on this thread: the loop ran here.
    if (state->expired) throw testing::hang_guard_expired(expiry_message(options, error));
    if (error) std::rethrow_exception(error);
}

}  // namespace anyio::detail
