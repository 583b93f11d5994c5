#pragma once
// Test support for the worker-thread tests: waiting on the loop for something another
// thread does, reading a thread's signal mask, and checking what a plain thread catches.

#include <anyio/anyio.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include <pthread.h>

namespace anyio_test {

// Polls `condition` on the loop every millisecond; fails the waiting task with
// timeout_error after a generous hang guard.
template <class Condition>
anyio::task<> loop_wait_until(Condition condition) {
    co_await anyio::fail_after(std::chrono::seconds(30), [&condition]() -> anyio::task<> {
        while (!condition())
            co_await anyio::sleep(std::chrono::milliseconds(1));
    });
}

// Sleeps until cancelled, counting the cleanup that then runs.
inline anyio::task<> sleep_counting_cleanup(std::shared_ptr<std::atomic<int>> cleanups) {
    try {
        co_await anyio::sleep(std::chrono::hours(24));
    } catch (const anyio::cancelled&) {
        cleanups->fetch_add(1);
        throw;
    }
}

// The calling thread's blocked-signal mask.
inline sigset_t blocked_signals() {
    sigset_t mask;
    ::sigemptyset(&mask);
    ::pthread_sigmask(SIG_BLOCK, nullptr, &mask);
    return mask;
}

// Every asynchronous signal is blocked in `mask`, and no synchronous fault is.
inline void expect_async_signals_blocked(const sigset_t& mask) {
    for (const int signo : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD, SIGALRM,
                            SIGPIPE, SIGWINCH, SIGRTMIN, SIGRTMAX})
        EXPECT_EQ(::sigismember(&mask, signo), 1) << "signal " << signo << " is not blocked";
    for (const int signo : {SIGSEGV, SIGBUS, SIGFPE, SIGILL})
        EXPECT_EQ(::sigismember(&mask, signo), 0) << "fault " << signo << " is blocked";
}

// Runs `call` (a portal call, a future's get(), a from_thread call) and expects it to
// throw E, caught as a std::exception as any plain thread would catch it (an
// anyio::cancelled would escape and end the test), with `text` in what(). Returns the
// error's copy for more checks.
template <class E, class Call>
std::optional<E> expect_thread_error(Call call, const std::string& text) {
    try {
        call();
        ADD_FAILURE() << "no exception";
    } catch (const std::exception& e) {
        const auto* error = dynamic_cast<const E*>(&e);
        EXPECT_NE(error, nullptr) << "another exception: " << e.what();
        EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
        if (error != nullptr) return *error;
    }
    return std::nullopt;
}

// A portal_call_cancelled for `reason`, whose what() says so.
template <class Call>
void expect_portal_cancelled(Call call, anyio::portal_cancel_reason reason) {
    // In portal_cancel_reason's order.
    constexpr const char* texts[] = {"cancelled by portal_future::cancel()",
                                     "because the portal was stopped", "stopped the portal",
                                     "ended with anyio::cancelled"};
    const char* text = texts[static_cast<int>(reason)];
    const auto error = expect_thread_error<anyio::portal_call_cancelled>(call, text);
    if (error) {
        EXPECT_EQ(error->reason(), reason);
    }
}

}  // namespace anyio_test
