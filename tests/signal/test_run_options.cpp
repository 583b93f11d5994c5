// anyio::run_options: graceful termination signals and the second-interrupt policy.
// Every scenario sends real signals to itself, so each runs in a forked child.

#include <anyio/anyio.hpp>

#include <gtest/gtest.h>

#include "support/child_process.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace std::chrono_literals;

namespace {

void default_dispositions() {
    for (const int signo : {SIGINT, SIGTERM, SIGHUP})
        std::signal(signo, SIG_DFL);
    sigset_t empty;
    sigemptyset(&empty);
    pthread_sigmask(SIG_SETMASK, &empty, nullptr);
}

bool is_default(int signo) {
    struct sigaction action {};
    ::sigaction(signo, nullptr, &action);
    return (action.sa_flags & SA_SIGINFO) == 0 && action.sa_handler == SIG_DFL;
}

// Sends `signals` to this process from another thread, one each time `ready` was raised
// once more.
class sender {
public:
    explicit sender(std::vector<int> signals)
        : thread_([this, signals = std::move(signals)] {
              for (std::size_t i = 0; i < signals.size(); ++i) {
                  if (!anyio_test::wait_until(
                          [&] { return stop_.load() || ready_.load() > static_cast<int>(i); },
                          60s) ||
                      stop_.load()) {
                      return;
                  }
                  // Spaced out so the kernel cannot merge two while the first is pending.
                  if (i > 0) std::this_thread::sleep_for(100ms);
                  ::kill(::getpid(), signals[i]);
              }
          }) {}
    sender(const sender&) = delete;
    sender& operator=(const sender&) = delete;
    ~sender() {
        stop_.store(true);
        thread_.join();
    }
    void ready() { ready_.fetch_add(1); }

private:
    std::atomic<int> ready_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// A task that sleeps until cancelled, then records its cleanup (after `cleanup_time` in a
// shielded scope, during which more signals may arrive).
anyio::task<> sleeper(sender* s, std::vector<std::string>* cleaned,
                      std::chrono::milliseconds cleanup_time) {
    try {
        s->ready();
        co_await anyio::sleep(1h);
    } catch (const anyio::cancelled&) {
        cleaned->push_back("cancelled");
    }
    anyio::cancel_scope shield(anyio::clock::time_point::max(), true);
    co_await shield.run([&]() -> anyio::task<> {
        if (cleanup_time > 0ms) {
            s->ready();  // a second signal may come now, and a third
            s->ready();
            co_await anyio::sleep(cleanup_time);
        }
        cleaned->push_back("cleanup done");
    });
}

TEST(RunOptions, GracefulSigtermCancelsEverythingThenRunThrowsTerminated) {
    const auto status = anyio_test::run_in_child([] {
        default_dispositions();
        sender s({SIGTERM});
        std::vector<std::string> cleaned;
        int caught = 0;
        try {
            anyio::run(anyio::run_options{.graceful_signals = {SIGTERM}},
                       [&]() -> anyio::task<> { co_await sleeper(&s, &cleaned, 0ms); });
        } catch (const anyio::terminated& e) {
            caught = e.signo;
        }
        EXPECT_EQ(caught, SIGTERM);
        EXPECT_EQ(cleaned, (std::vector<std::string>{"cancelled", "cleanup done"}));
        EXPECT_TRUE(is_default(SIGTERM)) << "run must restore what it found";
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(RunOptions, SigtermWithoutTheOptionKeepsItsDefaultAction) {
    const auto status = anyio_test::run_in_child([] {
        default_dispositions();
        sender s({SIGTERM});
        std::vector<std::string> cleaned;
        anyio::run([&]() -> anyio::task<> { co_await sleeper(&s, &cleaned, 0ms); });
        ADD_FAILURE() << "SIGTERM should have ended the process";
    });
    EXPECT_EQ(status.signal, SIGTERM) << status.describe();
}

TEST(RunOptions, RunMainDiesByTheGracefulSignalAfterCleanup) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const auto status = anyio_test::run_in_child([&] {
        default_dispositions();
        ::close(fds[0]);
        sender s({SIGTERM});
        std::vector<std::string> cleaned;
        anyio::run_main(anyio::run_options{.graceful_signals = {SIGTERM}}, [&]() -> anyio::task<> {
            co_await sleeper(&s, &cleaned, 0ms);
            // Reached only after the cleanup: tell the parent.
            [[maybe_unused]] const auto n = ::write(fds[1], "c", 1);
        });
        ADD_FAILURE() << "run_main returned";
    });
    ::close(fds[1]);
    char mark = 0;
    EXPECT_EQ(::read(fds[0], &mark, 1), 1) << "the cleanup did not run";
    ::close(fds[0]);
    EXPECT_EQ(status.signal, SIGTERM) << status.describe();
}

TEST(RunOptions, DeferredSecondInterruptLetsTheCleanupFinish) {
    const auto status = anyio_test::run_in_child([] {
        default_dispositions();
        sender s({SIGINT, SIGINT});
        std::vector<std::string> cleaned;
        bool interrupted = false;
        try {
            anyio::run(anyio::run_options{.on_second_interrupt = anyio::second_interrupt::defer,
                                          .graceful_signals = {}},
                       [&]() -> anyio::task<> { co_await sleeper(&s, &cleaned, 200ms); });
        } catch (const anyio::keyboard_interrupt&) {
            interrupted = true;
        }
        EXPECT_TRUE(interrupted);
        EXPECT_EQ(cleaned, (std::vector<std::string>{"cancelled", "cleanup done"}));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(RunOptions, DeferredPolicyStillEndsTheProcessOnTheThirdInterrupt) {
    const auto status = anyio_test::run_in_child([] {
        default_dispositions();
        sender s({SIGINT, SIGINT, SIGINT});
        std::vector<std::string> cleaned;
        anyio::run(
            anyio::run_options{.on_second_interrupt = anyio::second_interrupt::defer,
                               .graceful_signals = {}},
            [&]() -> anyio::task<> { co_await sleeper(&s, &cleaned, std::chrono::hours(1)); });
        ADD_FAILURE() << "the third SIGINT should have ended the process";
    });
    EXPECT_EQ(status.signal, SIGINT) << status.describe();
}

TEST(RunOptions, SecondGracefulSignalForcesExitByDefault) {
    const auto status = anyio_test::run_in_child([] {
        default_dispositions();
        sender s({SIGTERM, SIGTERM});
        std::vector<std::string> cleaned;
        anyio::run(anyio::run_options{.graceful_signals = {SIGTERM}}, [&]() -> anyio::task<> {
            co_await sleeper(&s, &cleaned, std::chrono::hours(1));
        });
        ADD_FAILURE() << "the second SIGTERM should have ended the process";
    });
    EXPECT_EQ(status.signal, SIGTERM) << status.describe();
}

// A task that never reaches a checkpoint cannot be cancelled; the second SIGINT still ends
// the process, from the signal handler.
TEST(RunOptions, SpinningWithoutCheckpointsIsEndedByTheSecondSigint) {
    const auto status = anyio_test::run_in_child([] {
        default_dispositions();
        sender s({SIGINT, SIGINT});
        anyio::run([&]() -> anyio::task<> {
            s.ready();
            s.ready();
            const auto until = std::chrono::steady_clock::now() + 60s;
            while (std::chrono::steady_clock::now() < until) {
            }
            co_return;
        });
        ADD_FAILURE() << "the second SIGINT should have ended the process";
    });
    EXPECT_EQ(status.signal, SIGINT) << status.describe();
}

TEST(RunOptions, AReceiverOwnsAGracefulSignalWhileOpen) {
    const auto status = anyio_test::run_in_child([] {
        default_dispositions();
        int received = 0;
        anyio::run(anyio::run_options{.graceful_signals = {SIGTERM}}, [&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGTERM);
            ::kill(::getpid(), SIGTERM);
            received = co_await anyio::fail_after(
                10s, [&]() -> anyio::task<int> { co_return co_await signals.receive(); });
            co_await anyio::checkpoint();  // not cancelled
        });
        EXPECT_EQ(received, SIGTERM);
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(RunOptions, AnIgnoredGracefulSignalStaysIgnored) {
    const auto status = anyio_test::run_in_child([] {
        default_dispositions();
        std::signal(SIGTERM, SIG_IGN);
        anyio::run(anyio::run_options{.graceful_signals = {SIGTERM}}, [&]() -> anyio::task<> {
            ::kill(::getpid(), SIGTERM);
            co_await anyio::sleep(20ms);
            co_await anyio::checkpoint();  // not cancelled
        });
        struct sigaction action {};
        ::sigaction(SIGTERM, nullptr, &action);
        EXPECT_EQ(action.sa_handler, SIG_IGN);
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(RunOptions, BadGracefulSignalsAreRefusedBeforeRunStartsAnything) {
    const auto status = anyio_test::run_in_child([] {
        default_dispositions();
        for (const int bad : {SIGKILL, SIGSTOP, SIGSEGV, 0, 65}) {
            bool body_ran = false;
            try {
                anyio::run(anyio::run_options{.graceful_signals = {SIGTERM, bad}},
                           [&]() -> anyio::task<> {
                               body_ran = true;
                               co_return;
                           });
                ADD_FAILURE() << "accepted " << bad;
            } catch (const std::invalid_argument& e) {
                EXPECT_NE(std::string(e.what()).find("graceful_signals"), std::string::npos)
                    << e.what();
            }
            EXPECT_FALSE(body_ran);
            EXPECT_TRUE(is_default(SIGTERM));
            EXPECT_TRUE(is_default(SIGINT));
        }
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

}  // namespace
