#pragma once
// Test support for the worker-thread tests: waiting on the loop for something another
// thread does, and reading a thread's signal mask.

#include <anyio/anyio.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>

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

}  // namespace anyio_test
