// fork() without exec, and the helper for children that exec.

#include <anyio/anyio.hpp>

#include <gtest/gtest.h>

#include "support/child_process.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

using namespace std::chrono_literals;

namespace {

bool is_default(int signo) {
    struct sigaction action {};
    ::sigaction(signo, nullptr, &action);
    return (action.sa_flags & SA_SIGINFO) == 0 && action.sa_handler == SIG_DFL;
}

anyio::task<int> receive_own_signal() {
    auto signals = anyio::open_signal_receiver(SIGUSR1);
    ::raise(SIGUSR1);
    co_return co_await anyio::fail_after(
        10s, [&]() -> anyio::task<int> { co_return co_await signals.receive(); });
}

int wait_status(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
    }
    return status;
}

// A worker thread's loop holds a receiver while the main thread (no loop) forks: the child
// gets the previous dispositions back and can run its own receivers.
TEST(SignalFork, ChildStartsCleanAndOpensItsOwnReceivers) {
    const auto status = anyio_test::run_in_child([] {
        std::atomic<bool> open{false};
        std::atomic<bool> forked{false};
        int parent_got = 0;
        std::thread worker([&] {
            anyio::run([&]() -> anyio::task<> {
                auto signals = anyio::open_signal_receiver(SIGUSR1, SIGUSR2);
                open.store(true);
                while (!forked.load())
                    co_await anyio::sleep(1ms);
                ::kill(::getpid(), SIGUSR2);
                parent_got = co_await anyio::fail_after(
                    10s, [&]() -> anyio::task<int> { co_return co_await signals.receive(); });
            });
        });
        ASSERT_TRUE(anyio_test::wait_until([&] { return open.load(); }));
        const pid_t child = ::fork();
        if (child == 0) {
            // Previous dispositions are back: nothing of the parent's receivers remains.
            int code = is_default(SIGUSR1) && is_default(SIGUSR2) ? 0 : 10;
            if (code == 0) {
                try {
                    code = anyio::run(receive_own_signal) == SIGUSR1 ? 0 : 11;
                } catch (...) {
                    code = 12;
                }
            }
            if (code == 0 && !is_default(SIGUSR1)) code = 13;
            ::_exit(code);
        }
        const int st = wait_status(child);
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "child status " << st;
        forked.store(true);
        worker.join();
        // The parent's receiver still works, and got only its own signal.
        EXPECT_EQ(parent_got, SIGUSR2);
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// A signal the child sends itself is not handled by anyio's handler (which would write to
// descriptors shared with the parent): the child dies by it, as by default.
TEST(SignalFork, ChildDoesNotRouteSignalsToTheParentsLoop) {
    const auto status = anyio_test::run_in_child([] {
        anyio::run([]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR1);
            const pid_t child = ::fork();
            if (child == 0) {
                ::raise(SIGUSR1);
                ::_exit(0);  // survived: the parent's routing was still in place
            }
            const int st = wait_status(child);
            EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1) << "child status " << st;
            // And nothing reached the parent's receiver.
            const bool got_one = co_await anyio::move_on_after(
                50ms, [&]() -> anyio::task<> { (void)co_await signals.receive(); });
            EXPECT_FALSE(got_one);
        });
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// A loop copied into the child by a fork() inside a task cannot receive signals there; it
// says so instead of silently receiving nothing.
TEST(SignalFork, CopiedLoopRefusesNewReceiversInTheChild) {
    const auto status = anyio_test::run_in_child([] {
        anyio::run([]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR1);
            const pid_t child = ::fork();
            if (child == 0) {
                int code = 1;
                try {
                    (void)anyio::open_signal_receiver(SIGUSR2);
                } catch (const std::logic_error&) {
                    code = 0;
                }
                ::_exit(code);
            }
            const int st = wait_status(child);
            EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "child status " << st;
            co_return;
        });
        EXPECT_TRUE(is_default(SIGUSR1));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

void handler(int) {}

// reset_signals_for_child: the exec'd program sees no caught, ignored or blocked signals.
TEST(SignalFork, ResetForChildGivesExecDefaultDispositionsAndAnEmptyMask) {
    const auto status = anyio_test::run_in_child([] {
        anyio::run([]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR1, SIGTERM);
            std::signal(SIGHUP, SIG_IGN);
            std::signal(SIGUSR2, handler);
            sigset_t block;
            sigemptyset(&block);
            sigaddset(&block, SIGQUIT);
            pthread_sigmask(SIG_BLOCK, &block, nullptr);
            int fds[2];
            EXPECT_EQ(::pipe(fds), 0);
            const pid_t child = ::fork();
            if (child == 0) {
                anyio::reset_signals_for_child();
                ::dup2(fds[1], STDOUT_FILENO);
                // cat installs no handlers of its own (grep catches SIGSEGV).
                ::execl("/bin/cat", "cat", "/proc/self/status", static_cast<char*>(nullptr));
                ::_exit(127);
            }
            ::close(fds[1]);
            std::string out;
            char buf[256];
            ssize_t n = 0;
            while ((n = ::read(fds[0], buf, sizeof buf)) > 0)
                out.append(buf, buf + n);
            ::close(fds[0]);
            const int st = wait_status(child);
            EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << out;
            for (const char* line : {"SigBlk:\t0000000000000000", "SigIgn:\t0000000000000000",
                                     "SigCgt:\t0000000000000000"}) {
                EXPECT_NE(out.find(line), std::string::npos) << "missing " << line << " in\n"
                                                             << out;
            }
            pthread_sigmask(SIG_UNBLOCK, &block, nullptr);
            co_return;
        });
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

}  // namespace
