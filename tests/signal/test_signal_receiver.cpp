// open_signal_receiver: AnyIO's and Trio's signal tests, ported, with real signals.
//
// Every scenario runs in a forked child (anyio_test::run_in_child): it changes process-wide
// dispositions and sends real signals, which must not reach the test runner. Timeouts are
// hang guards only, never speed assertions; the short move_on_after windows below only
// check that nothing more is pending.

#include <anyio/anyio.hpp>

#include "support/child_process.hpp"
#include "support/signal_helpers.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using anyio_test::bits_of;
using anyio_test::expect_same_action;
using anyio_test::handler_bits;
using anyio_test::install_siginfo;
using anyio_test::is_default;
using anyio_test::is_ignored;
using anyio_test::queue_to_self;
using anyio_test::read_action;
using anyio_test::receive_if_pending;
using anyio_test::receive_within;
using anyio_test::set_handler;

// A previous disposition that counts what reaches it. Lock-free atomics only.
std::atomic<int> usr1_hits{0};
static_assert(std::atomic<int>::is_always_lock_free);

void count_usr1(int /*signo*/, siginfo_t* /*info*/, void* /*context*/) {
    usr1_hits.fetch_add(1);
}

void install_usr1_counter() {
    install_siginfo(SIGUSR1, &count_usr1, SA_RESTART, {});
}

// True if `what` names `signo`: its SIGxxx name or its number as a whole token.
bool names_signal(const std::string& what, int signo) {
    if (signo >= 1 && signo < NSIG) {
        if (const char* abbrev = ::sigabbrev_np(signo)) {
            if (what.find(std::string("SIG") + abbrev) != std::string::npos) return true;
        }
    }
    const std::string number = std::to_string(signo);
    for (auto pos = what.find(number); pos != std::string::npos; pos = what.find(number, pos + 1)) {
        const auto is_digit = [](char c) {
            return std::isdigit(static_cast<unsigned char>(c)) != 0;
        };
        const std::size_t end = pos + number.size();
        const bool joined_before = pos > 0 && (is_digit(what[pos - 1]) || what[pos - 1] == '-');
        const bool joined_after = end < what.size() && is_digit(what[end]);
        if (!joined_before && !joined_after) return true;
    }
    return false;
}

}  // namespace

// Trio's test_open_signal_receiver / AnyIO's test_receive_signals: two signals arrive in
// the order they were sent, whatever their numbers.
TEST(SignalReceiver, TwoSignalsAreReceivedInOrder) {
    const auto status = anyio_test::run_in_child([] {
        std::vector<int> got;
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR1, SIGUSR2);
            ::raise(SIGUSR1);
            ::raise(SIGUSR2);
            got.push_back(co_await receive_within(signals));
            got.push_back(co_await receive_within(signals));
            // Reverse order: arrival order wins over signal-number order.
            ::raise(SIGUSR2);
            ::raise(SIGUSR1);
            got.push_back(co_await receive_within(signals));
            got.push_back(co_await receive_within(signals));
        });
        EXPECT_EQ(got, (std::vector<int>{SIGUSR1, SIGUSR2, SIGUSR2, SIGUSR1}));
        EXPECT_TRUE(is_default(SIGUSR1));
        EXPECT_TRUE(is_default(SIGUSR2));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// AnyIO's test_task_group_cancellation_open: the group is cancelled while a task iterates
// a receiver; the receive wakes with `cancelled`, the group exits cleanly, and the
// receiver's handler is gone afterwards.
TEST(SignalReceiver, CancellingTheGroupStopsATaskIteratingAReceiver) {
    const auto status = anyio_test::run_in_child([] {
        int received = 0;
        bool saw_cancelled = false;
        bool group_exited = false;
        anyio::run([&]() -> anyio::task<> {
            anyio::event opened;
            anyio::event got_one;
            co_await anyio::fail_after(10s, [&]() -> anyio::task<> {
                co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                    tg.start_soon([&]() -> anyio::task<> {
                        auto signals = anyio::open_signal_receiver(SIGUSR1);
                        opened.set();
                        try {
                            for (;;) {
                                const int signo = co_await signals.receive();
                                EXPECT_EQ(signo, SIGUSR1);
                                ++received;
                                got_one.set();
                            }
                        } catch (const anyio::cancelled&) {
                            saw_cancelled = true;
                            throw;
                        }
                    });
                    co_await opened.wait();
                    ::raise(SIGUSR1);
                    co_await got_one.wait();
                    tg.cancel_scope().cancel();
                });
                group_exited = true;
            });
        });
        EXPECT_EQ(received, 1);
        EXPECT_TRUE(saw_cancelled);
        EXPECT_TRUE(group_exited);
        EXPECT_TRUE(is_default(SIGUSR1));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// AnyIO's test_task_group_cancellation_consume: the receiver is opened by the parent task,
// the consuming task is cancelled while it waits; a signal sent afterwards is received by
// a later receive on the same receiver.
TEST(SignalReceiver, CancelledConsumerLosesNothing) {
    const auto status = anyio_test::run_in_child([] {
        bool consumer_cancelled = false;
        int later = 0;
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR1);
            bool consumer_waiting = false;
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon([&]() -> anyio::task<> {
                    consumer_waiting = true;
                    try {
                        const int signo = co_await signals.receive();
                        ADD_FAILURE() << "the cancelled consumer received signal " << signo;
                    } catch (const anyio::cancelled&) {
                        consumer_cancelled = true;
                        throw;
                    }
                });
                while (!consumer_waiting)
                    co_await anyio::checkpoint();
                tg.cancel_scope().cancel();
            });
            std::thread sender([] { ::kill(::getpid(), SIGUSR1); });
            sender.join();
            later = co_await receive_within(signals);
            const auto extra = co_await receive_if_pending(signals);
            EXPECT_FALSE(extra.has_value()) << "unexpected signal " << extra.value_or(0);
        });
        EXPECT_TRUE(consumer_cancelled);
        EXPECT_EQ(later, SIGUSR1);
        EXPECT_TRUE(is_default(SIGUSR1));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// The edge of the previous test: the signal reaches the process in the same scheduling
// step as the cancellation (before the loop had a chance to dispatch it). Exactly one
// receive gets it: the consumer, or a later receive on the same receiver.
TEST(SignalReceiver, SignalRacingTheConsumersCancellationIsNotLost) {
    const auto status = anyio_test::run_in_child([] {
        int consumer_got = 0;
        std::optional<int> later;
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR1);
            bool consumer_waiting = false;
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon([&]() -> anyio::task<> {
                    consumer_waiting = true;
                    consumer_got = co_await signals.receive();
                    co_await anyio::checkpoint();
                });
                while (!consumer_waiting)
                    co_await anyio::checkpoint();
                ::raise(SIGUSR1);
                tg.cancel_scope().cancel();
            });
            if (consumer_got == 0) {
                later = co_await receive_within(signals);
            } else {
                later = co_await receive_if_pending(signals);
            }
        });
        if (consumer_got == 0) {
            EXPECT_EQ(later, SIGUSR1);
        } else {
            EXPECT_EQ(consumer_got, SIGUSR1);
            EXPECT_FALSE(later.has_value()) << "received twice";
        }
        EXPECT_TRUE(is_default(SIGUSR1));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// Trio's test_open_signal_receiver_no_starvation's cousin: repeats of a signal not yet
// received merge into one pending entry, and merging keeps first-arrival order.
TEST(SignalReceiver, RepeatsOfAPendingSignalCoalesce) {
    const auto status = anyio_test::run_in_child([] {
        std::vector<int> got;
        std::optional<int> extra_after_first;
        std::optional<int> extra_after_second;
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR1, SIGUSR2);
            for (int i = 0; i < 3; ++i)
                ::raise(SIGUSR1);
            got.push_back(co_await receive_within(signals));
            extra_after_first = co_await receive_if_pending(signals);

            // Each raise is dispatched into the receiver before the next one arrives (a
            // checkpoint lets the loop poll), so the merging happens in the receiver.
            for (const int signo : {SIGUSR1, SIGUSR2, SIGUSR1, SIGUSR2, SIGUSR1}) {
                ::raise(signo);
                co_await anyio::checkpoint();
                co_await anyio::checkpoint();
            }
            got.push_back(co_await receive_within(signals));
            got.push_back(co_await receive_within(signals));
            extra_after_second = co_await receive_if_pending(signals);
        });
        EXPECT_EQ(got, (std::vector<int>{SIGUSR1, SIGUSR1, SIGUSR2}));
        EXPECT_FALSE(extra_after_first.has_value()) << "got " << extra_after_first.value_or(0);
        EXPECT_FALSE(extra_after_second.has_value()) << "got " << extra_after_second.value_or(0);
        // Nothing was left pending at close: with SIG_DFL back, a re-raise would have
        // killed the child.
        EXPECT_TRUE(is_default(SIGUSR1));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// A receive in a scope that is already cancelled throws `cancelled` and leaves the
// pending signal for the next receive.
TEST(SignalReceiver, ReceiveInACancelledScopeLeavesThePendingSignal) {
    const auto status = anyio_test::run_in_child([] {
        bool body_ran = false;
        bool caught = false;
        int later = 0;
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR1);
            ::raise(SIGUSR1);
            co_await anyio::checkpoint();  // the loop dispatches it into the receiver
            anyio::cancel_scope scope;
            scope.cancel();
            co_await scope.run([&]() -> anyio::task<> {
                body_ran = true;
                const int signo = co_await signals.receive();
                ADD_FAILURE() << "receive in a cancelled scope returned " << signo;
            });
            caught = scope.cancelled_caught();
            later = co_await receive_within(signals);
        });
        EXPECT_TRUE(body_ran);
        EXPECT_TRUE(caught);
        EXPECT_EQ(later, SIGUSR1);
        EXPECT_TRUE(is_default(SIGUSR1));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// A storm sent by another thread while the loop is busy costs one pending entry.
TEST(SignalReceiver, AStormFromAnotherThreadCoalescesToOneReceive) {
    const auto status = anyio_test::run_in_child([] {
        int first = 0;
        std::optional<int> extra;
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR1);
            // The loop thread blocks in join(): the loop cannot dispatch meanwhile.
            std::thread storm([] {
                for (int i = 0; i < 2000; ++i)
                    ::kill(::getpid(), SIGUSR1);
            });
            storm.join();
            first = co_await receive_within(signals);
            extra = co_await receive_if_pending(signals);
        });
        EXPECT_EQ(first, SIGUSR1);
        EXPECT_FALSE(extra.has_value()) << "got " << extra.value_or(0);
        EXPECT_TRUE(is_default(SIGUSR1));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// A storm from another thread while the loop keeps dispatching (but nobody receives)
// still costs one pending entry: the repeats merge in the receiver.
TEST(SignalReceiver, AStormWhileTheLoopDispatchesCoalescesToOneReceive) {
    const auto status = anyio_test::run_in_child([] {
        int first = 0;
        std::optional<int> extra;
        // The loop thread blocks SIGUSR1, so every kill is handled by the storm thread
        // itself before kill() returns: once `done` is set, every signal is counted.
        sigset_t usr1;
        ::sigemptyset(&usr1);
        ::sigaddset(&usr1, SIGUSR1);
        ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &usr1, nullptr), 0);
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR1);
            std::atomic<bool> done{false};
            std::thread storm([&done, &usr1] {
                // Threads inherit the mask: take SIGUSR1 back for this one.
                ::pthread_sigmask(SIG_UNBLOCK, &usr1, nullptr);
                for (int i = 0; i < 2000; ++i) {
                    ::kill(::getpid(), SIGUSR1);
                    if (i % 100 == 0) std::this_thread::yield();
                }
                done.store(true);
            });
            co_await anyio::fail_after(30s, [&]() -> anyio::task<> {
                while (!done.load())
                    co_await anyio::checkpoint();
            });
            storm.join();
            co_await anyio::checkpoint();
            first = co_await receive_within(signals);
            extra = co_await receive_if_pending(signals);
        });
        EXPECT_EQ(first, SIGUSR1);
        EXPECT_FALSE(extra.has_value()) << "got " << extra.value_or(0);
        EXPECT_TRUE(is_default(SIGUSR1));
        ASSERT_EQ(::pthread_sigmask(SIG_UNBLOCK, &usr1, nullptr), 0);
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// Bad input is refused with std::invalid_argument naming the culprit, before anything is
// installed: the valid signals in the same list keep their disposition.
TEST(SignalReceiver, BadInputIsRefusedBeforeAnythingIsInstalled) {
    const auto status = anyio_test::run_in_child([] {
        install_usr1_counter();
        const struct sigaction usr1_before = read_action(SIGUSR1);
        const struct sigaction usr2_before = read_action(SIGUSR2);
        struct bad_case {
            std::vector<int> signals;
            int culprit;
        };
        const std::vector<bad_case> cases = {
            {{SIGUSR1, 0}, 0},
            {{SIGUSR1, SIGKILL}, SIGKILL},
            {{SIGSTOP}, SIGSTOP},
            {{SIGUSR1, SIGSEGV}, SIGSEGV},
            {{SIGBUS, SIGUSR1}, SIGBUS},
            {{SIGFPE}, SIGFPE},
            {{SIGILL}, SIGILL},
            {{32}, 32},
            {{SIGUSR1, SIGUSR2, 33}, 33},
            {{SIGRTMAX + 1}, SIGRTMAX + 1},
            {{-1}, -1},
            {{SIGUSR2, SIGUSR1, SIGKILL, SIGUSR1}, SIGKILL},
        };
        anyio::run([&]() -> anyio::task<> {
            for (const bad_case& c : cases) {
                SCOPED_TRACE("culprit " + std::to_string(c.culprit));
                try {
                    auto signals = anyio::open_signal_receiver(std::span<const int>(c.signals));
                    ADD_FAILURE() << "accepted";
                } catch (const std::invalid_argument& e) {
                    EXPECT_TRUE(names_signal(e.what(), c.culprit)) << "message: " << e.what();
                }
                expect_same_action(SIGUSR1, usr1_before);
                expect_same_action(SIGUSR2, usr2_before);
            }
            EXPECT_THROW((void)anyio::open_signal_receiver(), std::invalid_argument);
            EXPECT_THROW((void)anyio::open_signal_receiver(std::span<const int>()),
                         std::invalid_argument);
            EXPECT_THROW((void)anyio::open_signal_receiver({}), std::invalid_argument);
            co_return;
        });
        expect_same_action(SIGUSR1, usr1_before);
        expect_same_action(SIGUSR2, usr2_before);
        // And it still works: the counter gets the signal.
        ::raise(SIGUSR1);
        EXPECT_EQ(usr1_hits.load(), 1);
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// open_signal_receiver needs a task; outside anyio::run it refuses, changing nothing.
TEST(SignalReceiver, OpeningOutsideRunIsALogicError) {
    const auto status = anyio_test::run_in_child([] {
        EXPECT_THROW((void)anyio::open_signal_receiver(SIGUSR1), std::logic_error);
        EXPECT_TRUE(is_default(SIGUSR1));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// The edges of the valid range work, including queued real-time signals.
TEST(SignalReceiver, RealTimeSignalsAtTheEdgesOfTheRangeAreReceived) {
    const auto status = anyio_test::run_in_child([] {
        std::vector<int> got;
        std::optional<int> extra;
        const int low = SIGRTMIN;
        const int high = SIGRTMAX;
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(low, high);
            union sigval value {};
            value.sival_int = 42;
            EXPECT_EQ(queue_to_self(high, value), 0);
            EXPECT_EQ(queue_to_self(high, value), 0);  // queued: one item each
            got.push_back(co_await receive_within(signals));
            got.push_back(co_await receive_within(signals));
            ::raise(low);
            got.push_back(co_await receive_within(signals));
            extra = co_await receive_if_pending(signals);
        });
        EXPECT_EQ(got, (std::vector<int>{high, high, low}));
        EXPECT_FALSE(extra.has_value()) << "got " << extra.value_or(0);
        EXPECT_TRUE(is_default(low));
        EXPECT_TRUE(is_default(high));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// A duplicate in the list is one subscription: one receive per coalesced burst, and the
// disposition comes back when the receiver closes.
TEST(SignalReceiver, DuplicateSignalInTheListIsReceivedOncePerBurst) {
    const auto status = anyio_test::run_in_child([] {
        std::vector<int> got;
        std::optional<int> extra_after_first;
        std::optional<int> extra_after_second;
        anyio::run([&]() -> anyio::task<> {
            {
                auto signals = anyio::open_signal_receiver(SIGUSR1, SIGUSR1);
                ::raise(SIGUSR1);
                ::raise(SIGUSR1);
                got.push_back(co_await receive_within(signals));
                extra_after_first = co_await receive_if_pending(signals);
                ::raise(SIGUSR1);
                got.push_back(co_await receive_within(signals));
                extra_after_second = co_await receive_if_pending(signals);
            }
            EXPECT_TRUE(is_default(SIGUSR1)) << "a duplicate kept the handler installed";
        });
        EXPECT_EQ(got, (std::vector<int>{SIGUSR1, SIGUSR1}));
        EXPECT_FALSE(extra_after_first.has_value());
        EXPECT_FALSE(extra_after_second.has_value());
        EXPECT_TRUE(is_default(SIGUSR1));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// One receiver allows one receive at a time; after close() receive fails.
TEST(SignalReceiver, ConcurrentReceiveIsBusyAndReceiveAfterCloseIsClosed) {
    const auto status = anyio_test::run_in_child([] {
        bool busy_thrown = false;
        bool closed_thrown = false;
        bool moved_from_closed_thrown = false;
        int first_got = 0;
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR1);
            bool first_waiting = false;
            co_await anyio::fail_after(10s, [&]() -> anyio::task<> {
                co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                    tg.start_soon([&]() -> anyio::task<> {
                        first_waiting = true;
                        first_got = co_await signals.receive();
                    });
                    while (!first_waiting)
                        co_await anyio::checkpoint();
                    try {
                        const int signo = co_await signals.receive();
                        ADD_FAILURE() << "second concurrent receive returned " << signo;
                    } catch (const anyio::busy_resource_error&) {
                        busy_thrown = true;
                    }
                    // The refused receive did not disturb the waiting one.
                    ::raise(SIGUSR1);
                });
            });
            EXPECT_TRUE(signals.is_open());
            signals.close();
            EXPECT_FALSE(signals.is_open());
            try {
                const int signo = co_await signals.receive();
                ADD_FAILURE() << "receive after close returned " << signo;
            } catch (const anyio::closed_resource_error&) {
                closed_thrown = true;
            }
            signals.close();  // idempotent

            auto other = anyio::open_signal_receiver(SIGUSR2);
            auto taker = std::move(other);
            try {
                const int signo = co_await other.receive();  // NOLINT(bugprone-use-after-move)
                ADD_FAILURE() << "receive on a moved-from receiver returned " << signo;
            } catch (const anyio::closed_resource_error&) {
                moved_from_closed_thrown = true;
            }
            ::raise(SIGUSR2);
            const int taken = co_await receive_within(taker);
            EXPECT_EQ(taken, SIGUSR2);
        });
        EXPECT_TRUE(busy_thrown);
        EXPECT_EQ(first_got, SIGUSR1);
        EXPECT_TRUE(closed_thrown);
        EXPECT_TRUE(moved_from_closed_thrown);
        EXPECT_TRUE(is_default(SIGUSR1));
        EXPECT_TRUE(is_default(SIGUSR2));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// Trio's test_open_signal_receiver_no_starvation: a signal flooded without pause cannot
// keep another one, sent once in the middle of the flood, from being received.
TEST(SignalReceiver, AFloodOfOneSignalDoesNotStarveAnother) {
    const auto status = anyio_test::run_in_child([] {
        // Repeats still pending at close are re-raised: let the previous disposition
        // ignore them.
        set_handler(SIGUSR1, SIG_IGN);
        bool saw_usr2 = false;
        long usr1_received = 0;
        std::atomic<bool> usr2_sent{false};
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR1, SIGUSR2);
            std::jthread flood([&usr2_sent](const std::stop_token& stop) {
                for (long i = 0; !stop.stop_requested(); ++i) {
                    ::kill(::getpid(), SIGUSR1);
                    if (i == 2000) {
                        ::kill(::getpid(), SIGUSR2);
                        usr2_sent.store(true);
                    }
                }
            });
            co_await anyio::fail_after(30s, [&]() -> anyio::task<> {
                while (!saw_usr2) {
                    const int signo = co_await signals.receive();
                    if (signo == SIGUSR2) {
                        saw_usr2 = true;
                    } else {
                        EXPECT_EQ(signo, SIGUSR1);
                        ++usr1_received;
                    }
                }
            });
            flood.request_stop();
            flood.join();
        });
        EXPECT_TRUE(usr2_sent.load());
        EXPECT_TRUE(saw_usr2);
        EXPECT_GE(usr1_received, 1);
        EXPECT_TRUE(is_ignored(SIGUSR1));
        EXPECT_TRUE(is_default(SIGUSR2));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// Trio's test_open_signal_receiver_restore_handler's race on exit: a signal pending in
// a receiver that closes without receiving it is re-raised once the previous handler is
// back, so that handler sees it exactly once.
TEST(SignalReceiver, SignalPendingAtCloseIsRedeliveredOnceToThePreviousHandler) {
    const auto status = anyio_test::run_in_child([] {
        // Distinct requests from one sender, quicker than the request window.
        anyio::set_signal_request_window(0ns);
        install_usr1_counter();
        const struct sigaction before = read_action(SIGUSR1);
        anyio::run([&]() -> anyio::task<> {
            // Pending in the loop's counters (not dispatched yet).
            {
                auto signals = anyio::open_signal_receiver(SIGUSR1);
                ::raise(SIGUSR1);
                EXPECT_EQ(usr1_hits.load(), 0) << "the receiver's handler did not take it";
                signals.close();
                EXPECT_EQ(usr1_hits.load(), 1);
                expect_same_action(SIGUSR1, before);
            }
            // Dispatched into the receiver (the loop polled) but not received.
            {
                auto signals = anyio::open_signal_receiver(SIGUSR1);
                ::raise(SIGUSR1);
                for (int i = 0; i < 3; ++i)
                    co_await anyio::checkpoint();
                EXPECT_EQ(usr1_hits.load(), 1);
                signals.close();
                EXPECT_EQ(usr1_hits.load(), 2);
                expect_same_action(SIGUSR1, before);
            }
            // Pending in two receivers: the first to close hands it to the other (which
            // has it already); the last one hands it to the previous handler, once.
            {
                auto first = anyio::open_signal_receiver(SIGUSR1);
                auto second = anyio::open_signal_receiver(SIGUSR1, SIGUSR2);
                ::raise(SIGUSR1);
                co_await anyio::checkpoint();
                first.close();
                EXPECT_EQ(usr1_hits.load(), 2);
                second.close();
                EXPECT_EQ(usr1_hits.load(), 3);
                expect_same_action(SIGUSR1, before);
            }
        });
        // Nothing else arrives later.
        std::this_thread::sleep_for(50ms);
        EXPECT_EQ(usr1_hits.load(), 3);
        expect_same_action(SIGUSR1, before);
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// A previous SIG_IGN survives a signal pending at close: the re-raise is ignored.
TEST(SignalReceiver, PreviousIgnoreSurvivesASignalPendingAtClose) {
    const auto status = anyio_test::run_in_child([] {
        set_handler(SIGUSR1, SIG_IGN);
        bool was_anyio_while_open = false;
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR1);
            was_anyio_while_open = !is_ignored(SIGUSR1);
            ::raise(SIGUSR1);
            co_await anyio::checkpoint();
            signals.close();
            EXPECT_TRUE(is_ignored(SIGUSR1));
        });
        EXPECT_TRUE(was_anyio_while_open);
        EXPECT_TRUE(is_ignored(SIGUSR1));
        ::raise(SIGUSR1);  // still ignored: the child lives on
        EXPECT_EQ(handler_bits(read_action(SIGUSR1)), bits_of(SIG_IGN));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// A signal sent right after open_signal_receiver returns is never lost: from this
// thread, and from another thread started right after.
TEST(SignalReceiver, SignalSentRightAfterOpenIsNeverLost) {
    const auto status = anyio_test::run_in_child([] {
        int raised_ok = 0;
        int killed_ok = 0;
        constexpr int rounds = 200;
        anyio::run([&]() -> anyio::task<> {
            for (int i = 0; i < rounds; ++i) {
                auto signals = anyio::open_signal_receiver(SIGUSR1);
                ::raise(SIGUSR1);
                const int signo = co_await receive_within(signals);
                if (signo == SIGUSR1) ++raised_ok;
            }
            for (int i = 0; i < rounds; ++i) {
                auto signals = anyio::open_signal_receiver(SIGUSR2);
                std::thread sender([] { ::kill(::getpid(), SIGUSR2); });
                const int signo = co_await receive_within(signals);
                sender.join();
                if (signo == SIGUSR2) ++killed_ok;
            }
        });
        EXPECT_EQ(raised_ok, rounds);
        EXPECT_EQ(killed_ok, rounds);
        EXPECT_TRUE(is_default(SIGUSR1));
        EXPECT_TRUE(is_default(SIGUSR2));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// A signal from another process: a forked child sends SIGTERM to its parent.
TEST(SignalReceiver, SigtermFromAnotherProcessIsReceived) {
    const auto status = anyio_test::run_in_child([] {
        int got = 0;
        int child_status = -1;
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGTERM);
            const pid_t child = ::fork();
            if (child == 0) {
                ::_exit(::kill(::getppid(), SIGTERM) == 0 ? 0 : 1);
            }
            EXPECT_GT(child, 0);
            got = co_await receive_within(signals);
            EXPECT_EQ(::waitpid(child, &child_status, 0), child);
        });
        EXPECT_EQ(got, SIGTERM);
        EXPECT_TRUE(WIFEXITED(child_status) && WEXITSTATUS(child_status) == 0);
        EXPECT_TRUE(is_default(SIGTERM));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}
