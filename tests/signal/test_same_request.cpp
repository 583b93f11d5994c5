// "One request is one signal": deliveries of the same signal from the same sender (pid,
// uid, si_code) within the request window are one request for every second-signal policy
// (run's force exit here; examples/echo_server's grace period in its own tests), while a
// second request (another sender, or the same one after the window) still counts, and
// receivers still count every delivery (signal_info::count vs ::requests).

#include <anyio/anyio.hpp>

#include <gtest/gtest.h>

#include "support/child_process.hpp"
#include "support/signal_helpers.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace std::chrono_literals;

namespace {

const std::string target = INTERRUPT_TARGET_EXE;

// sigterm_until_rt with a request window of `window_ms`: returns once the first SIGTERM's
// cleanup has started (the program said "cleaning up"). The cleanup ends only when
// finish_cleanup() sends SIGRTMIN+1.
struct cleaning_up_program {
    explicit cleaning_up_program(int window_ms)
        : p({target, "sigterm_until_rt", std::to_string(window_ms)}, {.capture_stderr = true}) {
        if (p.read_line() != "ready") throw std::runtime_error("not ready");
        p.send(SIGTERM);
        if (p.read_line() != "cleaning up") throw std::runtime_error("no cleanup");
    }
    // Sent after a SIGTERM, this can only be handled after it: of the signals pending, the
    // kernel delivers the lowest-numbered first (SIGTERM 15, real-time ones from 34).
    void finish_cleanup() const { p.send(SIGRTMIN + 1); }
    anyio_test::process p;
};

// coreutils `timeout` signals the child and then its process group: often two SIGTERMs
// from one sender a fraction of a millisecond apart. The cleanup must run to its end.
// SIGALRM is what timeout's own timer sends it: sending it ourselves once the program is
// ready (and timeout waits for it) makes timeout act at once, never too early.
TEST(SameRequest, RealTimeoutsSigtermNeverCutsRunsCleanupShort) {
    for (int run = 0; run < 20; ++run) {
        anyio_test::process timeout(
            {"/usr/bin/timeout", "--preserve-status", "3600", target, "slow_sigterm"},
            {.capture_stderr = true});
        ASSERT_EQ(timeout.read_line(), "ready");
        // timeout stores the child's pid after fork() returns; a SIGALRM before that would
        // end timeout alone. Once it waits in rt_sigsuspend, it has.
        ASSERT_TRUE(anyio_test::wait_until_in_syscall(timeout.pid(), SYS_rt_sigsuspend));
        timeout.send(SIGALRM);
        const std::string output = timeout.read_rest();
        const anyio_test::exit_status status = timeout.wait();
        EXPECT_EQ(output, "cleaning up\ncleanup done\n") << "run " << run;
        // --preserve-status: the child's own ending, death by SIGTERM (128 + 15).
        EXPECT_TRUE(status.exited && status.code == 143)
            << "run " << run << ": " << status.describe();
        if (::testing::Test::HasFailure()) break;
    }
}

TEST(SameRequest, TheSameSenderAgainWithinTheWindowDoesNotForceExit) {
    cleaning_up_program program(60'000);
    program.p.send(SIGTERM);  // this process again, well within a minute
    program.finish_cleanup();
    EXPECT_EQ(program.p.read_rest(), "cleanup done\n");
    const anyio_test::exit_status status = program.p.wait();
    EXPECT_EQ(status.signal, SIGTERM) << status.describe();
}

TEST(SameRequest, AnotherSenderIsASecondRequestAndForcesExit) {
    cleaning_up_program program(60'000);
    anyio_test::process kill_command({"/bin/kill", "-TERM", std::to_string(program.p.pid())});
    EXPECT_TRUE(kill_command.wait().ok());
    program.finish_cleanup();
    EXPECT_EQ(program.p.read_rest(), "");  // ended before "cleanup done"
    const anyio_test::exit_status status = program.p.wait();
    EXPECT_EQ(status.signal, SIGTERM) << status.describe();
}

TEST(SameRequest, TheSameSenderAfterTheWindowIsASecondRequestAndForcesExit) {
    constexpr int window_ms = 100;
    cleaning_up_program program(window_ms);
    // The window opened before "cleaning up" was printed: this wait outlasts it.
    std::this_thread::sleep_for(std::chrono::milliseconds(window_ms + 20));
    program.p.send(SIGTERM);
    program.finish_cleanup();
    EXPECT_EQ(program.p.read_rest(), "");
    const anyio_test::exit_status status = program.p.wait();
    EXPECT_EQ(status.signal, SIGTERM) << status.describe();
}

// Receivers: every delivery is counted, repeats are marked.
TEST(SameRequest, AReceiverCountsEveryDeliveryAndEachRequestOnce) {
    const auto status = anyio_test::run_in_child([] {
        anyio::run([]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR1);
            std::uint64_t count = 0;
            std::uint64_t requests = 0;
            // Receives until `deliveries` occurrences in all were counted (hang guard 10 s).
            auto take_until = [&](std::uint64_t deliveries) -> anyio::task<> {
                while (count < deliveries) {
                    const anyio::signal_info info =
                        co_await anyio_test::receive_info_within(signals);
                    count += info.count;
                    requests += info.requests;
                }
            };
            // Twice from this thread, back to back (raise delivers before it returns, so
            // the kernel merges nothing): two deliveries, one request.
            ::raise(SIGUSR1);
            ::raise(SIGUSR1);
            co_await take_until(2);
            EXPECT_EQ(count, 2U);
            EXPECT_EQ(requests, 1U);
            // From another process: another sender, another request.
            const pid_t parent = ::getpid();
            const pid_t child = ::fork();
            if (child == 0) {
                ::kill(parent, SIGUSR1);
                ::_exit(0);
            }
            ::waitpid(child, nullptr, 0);
            co_await take_until(3);
            EXPECT_EQ(count, 3U);
            EXPECT_EQ(requests, 2U);
            // With no window, every delivery is a request.
            anyio::set_signal_request_window(0ns);
            ::raise(SIGUSR1);
            ::raise(SIGUSR1);
            co_await take_until(5);
            EXPECT_EQ(count, 5U);
            EXPECT_EQ(requests, 4U);
        });
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// The repeat of a request the receiver already handed out is not sent on at close: the
// previous disposition (here a counting handler) must not see the request a second time.
TEST(SameRequest, ARepeatPendingAtCloseIsNotSentOnAgain) {
    const auto status = anyio_test::run_in_child([] {
        static std::atomic<int> hits{0};
        struct sigaction counter {};
        counter.sa_handler = [](int) { hits.fetch_add(1); };
        ::sigaction(SIGUSR1, &counter, nullptr);
        anyio::run([]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR1);
            ::raise(SIGUSR1);
            const anyio::signal_info first = co_await signals.receive_info();
            EXPECT_EQ(first.requests, 1U);
            ::raise(SIGUSR1);  // the same request again
            for (int i = 0; i < 3; ++i)
                co_await anyio::checkpoint();  // dispatched into the receiver, not received
            signals.close();
        });
        EXPECT_EQ(hits.load(), 0);
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(SameRequest, ANegativeWindowIsRefused) {
    EXPECT_THROW(anyio::set_signal_request_window(-1ms), std::invalid_argument);
    EXPECT_EQ(anyio::signal_request_window(), 50ms);
}

}  // namespace
