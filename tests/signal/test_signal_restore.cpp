// Exact restore: the first receiver of a signal saves its sigaction; when the last one
// closes, in whatever order, handler, flags and mask come back exactly. A handler someone
// else installed meanwhile is left alone. Real signals, each scenario in a forked child.

#include <anyio/anyio.hpp>

#include "support/child_process.hpp"
#include "support/descriptors.hpp"
#include "support/signal_helpers.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <thread>

#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using anyio_test::bits_of;
using anyio_test::expect_same_action;
using anyio_test::handler_bits;
using anyio_test::install_plain;
using anyio_test::install_siginfo;
using anyio_test::open_fd_count;
using anyio_test::read_action;
using anyio_test::receive_within;
using anyio_test::sa_restorer_flag;

// The disposition is anyio's: a SA_SIGINFO handler that is none of the ones the test
// installed (`previous`), nor SIG_DFL or SIG_IGN.
void expect_anyio_holds(int signo, const struct sigaction& previous) {
    const struct sigaction now = read_action(signo);
    EXPECT_NE(now.sa_flags & SA_SIGINFO, 0) << "signal " << signo;
    EXPECT_NE(handler_bits(now), handler_bits(previous)) << "signal " << signo;
    EXPECT_NE(handler_bits(now), bits_of(SIG_DFL)) << "signal " << signo;
    EXPECT_NE(handler_bits(now), bits_of(SIG_IGN)) << "signal " << signo;
}

// Previous dispositions that count what reaches them. Lock-free atomics only.
std::atomic<int> usr1_hits{0};
std::atomic<int> usr2_hits{0};
std::atomic<int> foreign_hits{0};
static_assert(std::atomic<int>::is_always_lock_free);

void count_usr1(int /*signo*/, siginfo_t* /*info*/, void* /*context*/) {
    usr1_hits.fetch_add(1);
}
void count_usr2(int /*signo*/) {
    usr2_hits.fetch_add(1);
}
void count_foreign(int /*signo*/, siginfo_t* /*info*/, void* /*context*/) {
    foreign_hits.fetch_add(1);
}

// Two receivers of SIGUSR1 (the second also of SIGUSR2), closed in opening order or in
// reverse: the previous handlers come back only when the last receiver of each signal
// closes; until then anyio holds the signal and the remaining receiver gets it.
void close_in_order(bool reverse) {
    install_siginfo(SIGUSR1, &count_usr1, SA_RESTART, {SIGHUP});
    install_plain(SIGUSR2, &count_usr2, 0, {SIGTERM});
    const struct sigaction usr1_before = read_action(SIGUSR1);
    const struct sigaction usr2_before = read_action(SIGUSR2);
    anyio::run([&]() -> anyio::task<> {
        auto first = anyio::open_signal_receiver(SIGUSR1);
        auto second = anyio::open_signal_receiver(SIGUSR1, SIGUSR2);
        expect_anyio_holds(SIGUSR1, usr1_before);
        expect_anyio_holds(SIGUSR2, usr2_before);
        auto& closed_first = reverse ? second : first;
        auto& still_open = reverse ? first : second;
        closed_first.close();
        expect_anyio_holds(SIGUSR1, usr1_before);
        if (reverse) {
            expect_same_action(SIGUSR2, usr2_before);  // its only receiver closed
        } else {
            expect_anyio_holds(SIGUSR2, usr2_before);
        }
        ::raise(SIGUSR1);
        const int got = co_await receive_within(still_open);
        EXPECT_EQ(got, SIGUSR1);
        EXPECT_EQ(usr1_hits.load(), 0);
        still_open.close();
        expect_same_action(SIGUSR1, usr1_before);
        expect_same_action(SIGUSR2, usr2_before);
    });
    expect_same_action(SIGUSR1, usr1_before);
    expect_same_action(SIGUSR2, usr2_before);
    ::raise(SIGUSR1);
    ::raise(SIGUSR2);
    EXPECT_EQ(usr1_hits.load(), 1);
    EXPECT_EQ(usr2_hits.load(), 1);
}

}  // namespace

// A SA_SIGINFO handler with its own flags and mask comes back exactly.
TEST(SignalRestore, SiginfoHandlerWithFlagsAndMaskIsRestoredExactly) {
    const auto status = anyio_test::run_in_child([] {
        install_siginfo(SIGUSR1, &count_usr1, SA_RESTART, {SIGUSR2, SIGHUP});
        const struct sigaction before = read_action(SIGUSR1);
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR1);
            expect_anyio_holds(SIGUSR1, before);
            ::raise(SIGUSR1);
            const int got = co_await receive_within(signals);
            EXPECT_EQ(got, SIGUSR1);
        });
        const struct sigaction after = read_action(SIGUSR1);
        EXPECT_EQ(handler_bits(after), bits_of(&count_usr1));
        EXPECT_EQ(after.sa_flags & ~sa_restorer_flag, SA_RESTART | SA_SIGINFO);
        for (int s = 1; s < NSIG; ++s) {
            const int expected = (s == SIGUSR2 || s == SIGHUP) ? 1 : 0;
            EXPECT_EQ(::sigismember(&after.sa_mask, s), expected) << "signal " << s;
        }
        expect_same_action(SIGUSR1, before);
        EXPECT_EQ(usr1_hits.load(), 0);
        ::raise(SIGUSR1);
        EXPECT_EQ(usr1_hits.load(), 1);
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// The same for a plain handler with other flags (SA_NODEFER, SA_ONSTACK) and mask.
TEST(SignalRestore, PlainHandlerWithFlagsAndMaskIsRestoredExactly) {
    const auto status = anyio_test::run_in_child([] {
        install_plain(SIGUSR2, &count_usr2, SA_NODEFER | SA_ONSTACK, {SIGTERM, SIGRTMIN});
        const struct sigaction before = read_action(SIGUSR2);
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR2);
            expect_anyio_holds(SIGUSR2, before);
            ::raise(SIGUSR2);
            const int got = co_await receive_within(signals);
            EXPECT_EQ(got, SIGUSR2);
        });
        const struct sigaction after = read_action(SIGUSR2);
        EXPECT_EQ(handler_bits(after), bits_of(&count_usr2));
        EXPECT_EQ(after.sa_flags & ~sa_restorer_flag, SA_NODEFER | SA_ONSTACK);
        for (int s = 1; s < NSIG; ++s) {
            const int expected = (s == SIGTERM || s == SIGRTMIN) ? 1 : 0;
            EXPECT_EQ(::sigismember(&after.sa_mask, s), expected) << "signal " << s;
        }
        expect_same_action(SIGUSR2, before);
        ::raise(SIGUSR2);
        EXPECT_EQ(usr2_hits.load(), 1);
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(SignalRestore, RestoredOnlyWhenTheLastReceiverClosesInOpeningOrder) {
    const auto status = anyio_test::run_in_child([] { close_in_order(false); });
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(SignalRestore, RestoredOnlyWhenTheLastReceiverClosesInReverseOrder) {
    const auto status = anyio_test::run_in_child([] { close_in_order(true); });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// Receivers on loops in two threads: the previous handler comes back only when the
// last of them closes, whichever thread that is.
TEST(SignalRestore, RestoredOnlyWhenTheLastReceiverOnAnyLoopCloses) {
    const auto status = anyio_test::run_in_child([] {
        install_siginfo(SIGUSR1, &count_usr1, SA_RESTART, {SIGHUP});
        const struct sigaction before = read_action(SIGUSR1);
        std::atomic<int> worker_stage{0};  // 1: receiver open; 2: may close; 3: closed
        std::thread worker([&] {
            anyio::run([&]() -> anyio::task<> {
                auto signals = anyio::open_signal_receiver(SIGUSR1);
                worker_stage.store(1);
                co_await anyio::fail_after(10s, [&]() -> anyio::task<> {
                    while (worker_stage.load() != 2)
                        co_await anyio::sleep(1ms);
                });
                signals.close();
                worker_stage.store(3);
            });
        });
        anyio::run([&]() -> anyio::task<> {
            co_await anyio::fail_after(10s, [&]() -> anyio::task<> {
                while (worker_stage.load() != 1)
                    co_await anyio::sleep(1ms);
            });
            {
                auto signals = anyio::open_signal_receiver(SIGUSR1);
                expect_anyio_holds(SIGUSR1, before);
            }
            // The worker's receiver is still open.
            expect_anyio_holds(SIGUSR1, before);
            worker_stage.store(2);
            co_await anyio::fail_after(10s, [&]() -> anyio::task<> {
                while (worker_stage.load() != 3)
                    co_await anyio::sleep(1ms);
            });
            expect_same_action(SIGUSR1, before);
        });
        worker.join();
        expect_same_action(SIGUSR1, before);
        EXPECT_EQ(usr1_hits.load(), 0);
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// Opening and closing receivers 1000 times leaves every disposition as it was and leaks
// no file descriptor; so does running 100 loops that each open one.
TEST(SignalRestore, ThousandOpenCloseCyclesLeaveNoTrace) {
    const auto status = anyio_test::run_in_child([] {
        install_siginfo(SIGUSR1, &count_usr1, SA_RESTART, {SIGUSR2});
        install_plain(SIGUSR2, SIG_IGN, 0, {});
        const struct sigaction usr1_before = read_action(SIGUSR1);
        const struct sigaction usr2_before = read_action(SIGUSR2);
        const struct sigaction hup_before = read_action(SIGHUP);
        const auto fds_before_run = open_fd_count();
        std::size_t fds_in_run_before = 0;
        std::size_t fds_in_run_after = 0;
        int received = 0;
        int exercised = 0;
        anyio::run([&]() -> anyio::task<> {
            fds_in_run_before = open_fd_count();
            for (int i = 0; i < 1000; ++i) {
                auto signals = i % 3 == 0   ? anyio::open_signal_receiver(SIGUSR1)
                               : i % 3 == 1 ? anyio::open_signal_receiver(SIGUSR2, SIGHUP)
                                            : anyio::open_signal_receiver(SIGHUP, SIGUSR1, SIGUSR2);
                if (i % 3 != 0 && i % 50 == 1) {  // the receivers of SIGHUP, now and then
                    ++exercised;
                    ::raise(SIGHUP);
                    const int got = co_await receive_within(signals);
                    if (got == SIGHUP) ++received;
                }
            }
            fds_in_run_after = open_fd_count();
        });
        EXPECT_GT(exercised, 0);
        EXPECT_EQ(received, exercised);
        EXPECT_EQ(fds_in_run_after, fds_in_run_before);
        EXPECT_EQ(open_fd_count(), fds_before_run);
        expect_same_action(SIGUSR1, usr1_before);
        expect_same_action(SIGUSR2, usr2_before);
        expect_same_action(SIGHUP, hup_before);

        for (int i = 0; i < 100; ++i) {
            anyio::run([&]() -> anyio::task<> {
                auto signals = anyio::open_signal_receiver(SIGHUP, SIGUSR1);
                co_return;
            });
        }
        EXPECT_EQ(open_fd_count(), fds_before_run);
        expect_same_action(SIGUSR1, usr1_before);
        expect_same_action(SIGHUP, hup_before);
        EXPECT_EQ(usr1_hits.load(), 0);
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// A handler someone else installs over anyio's while a receiver is open stays in place
// when the receiver closes (the saved one is not forced back over it).
TEST(SignalRestore, ForeignHandlerInstalledMeanwhileIsLeftInPlace) {
    const auto status = anyio_test::run_in_child([] {
        install_siginfo(SIGUSR1, &count_usr1, SA_RESTART, {});
        struct sigaction foreign {};
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR1);
            install_siginfo(SIGUSR1, &count_foreign, 0, {SIGTERM});
            foreign = read_action(SIGUSR1);
            signals.close();
            expect_same_action(SIGUSR1, foreign);
            ::raise(SIGUSR1);
            EXPECT_EQ(foreign_hits.load(), 1);
            EXPECT_EQ(usr1_hits.load(), 0);

            // Opening again now saves (and later restores) the foreign handler.
            auto again = anyio::open_signal_receiver(SIGUSR1);
            expect_anyio_holds(SIGUSR1, foreign);
            ::raise(SIGUSR1);
            const int got = co_await receive_within(again);
            EXPECT_EQ(got, SIGUSR1);
            again.close();
            expect_same_action(SIGUSR1, foreign);
        });
        expect_same_action(SIGUSR1, foreign);
        EXPECT_EQ(foreign_hits.load(), 1);
        EXPECT_EQ(usr1_hits.load(), 0);
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// Same, with two receivers open while the foreign handler arrives: closing both, in
// any order, leaves it alone.
TEST(SignalRestore, ForeignHandlerSurvivesTheLastOfSeveralReceivers) {
    const auto status = anyio_test::run_in_child([] {
        struct sigaction foreign {};
        anyio::run([&]() -> anyio::task<> {
            auto first = anyio::open_signal_receiver(SIGUSR1);
            auto second = anyio::open_signal_receiver(SIGUSR1);
            install_siginfo(SIGUSR1, &count_foreign, SA_RESTART, {});
            foreign = read_action(SIGUSR1);
            second.close();
            expect_same_action(SIGUSR1, foreign);
            first.close();
            expect_same_action(SIGUSR1, foreign);
            co_return;
        });
        expect_same_action(SIGUSR1, foreign);
        ::raise(SIGUSR1);  // with SIG_DFL put back this would kill the child
        EXPECT_EQ(foreign_hits.load(), 1);
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}
