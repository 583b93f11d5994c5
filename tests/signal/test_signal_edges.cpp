// Nothing lost at the edges of a receiver's life, and nothing received twice:
//  a. what is pending when a receiver closes reaches the next owner, also when the closing
//     thread blocks the signal (a blocking portal's thread);
//  b. a receiver that opened after an occurrence arrived gets it when the receiver that
//     had it closes without receiving it (same loop or another thread's loop), once;
//  c. a receiver opened after other code replaced anyio's handler still receives, and the
//     last close restores the replacement.
// Each scenario runs in a forked child: it signals itself and changes dispositions.

#include <anyio/anyio.hpp>

#include <gtest/gtest.h>

#include "support/child_process.hpp"
#include "support/signal_helpers.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <optional>
#include <thread>

#include <unistd.h>

using namespace std::chrono_literals;

namespace {

std::atomic<int> usr1_hits{0};
void count_usr1(int) {
    usr1_hits.fetch_add(1);
}
std::atomic<int> foreign_hits{0};
void count_foreign(int) {
    foreign_hits.fetch_add(1);
}

void in_child(const std::function<void()>& body) {
    const anyio_test::exit_status status = anyio_test::run_in_child(body);
    EXPECT_TRUE(status.ok()) << status.describe();
}

using anyio_test::receive_info_within;

TEST(SignalEdges, PendingAtCloseOnAThreadThatBlocksTheSignalReachesThePreviousHandler) {
    in_child([] {
        anyio_test::set_handler(SIGUSR1, count_usr1);
        anyio::blocking_portal portal = anyio::start_blocking_portal();
        std::optional<anyio::signal_receiver> receiver;
        portal.call([&]() -> anyio::task<> {
            receiver.emplace(anyio::open_signal_receiver(SIGUSR1));
            co_return;
        });
        // From this thread, which does not block it: our handler runs before kill returns
        // and counts it for the portal's loop.
        ::kill(::getpid(), SIGUSR1);
        EXPECT_EQ(usr1_hits.load(), 0);
        portal.call([&]() -> anyio::task<> {
            receiver->close();  // on the portal's thread, which blocks SIGUSR1
            co_return;
        });
        EXPECT_TRUE(anyio_test::wait_until([] { return usr1_hits.load() == 1; }))
            << "the pending SIGUSR1 was lost";
        std::this_thread::sleep_for(20ms);
        EXPECT_EQ(usr1_hits.load(), 1);
    });
}

TEST(SignalEdges, AReceiverOpenedAfterAnOccurrenceGetsItWhenTheOneThatHadItClosesUnreceived) {
    in_child([] {
        anyio_test::set_handler(SIGUSR1, count_usr1);
        anyio::run([]() -> anyio::task<> {
            auto a = anyio::open_signal_receiver(SIGUSR1);
            ::raise(SIGUSR1);
            co_await anyio::checkpoint();  // dispatched into a
            auto b = anyio::open_signal_receiver(SIGUSR1);
            a.close();
            const anyio::signal_info info = co_await receive_info_within(b);
            EXPECT_EQ(info.signo, SIGUSR1);
            EXPECT_EQ(info.count, 1U);
            EXPECT_EQ(info.requests, 1U);
            EXPECT_EQ(info.pid, ::getpid());
            EXPECT_FALSE((co_await anyio_test::receive_info_if_pending(b)).has_value());
            EXPECT_EQ(usr1_hits.load(), 0) << "handed to the previous handler as well";
        });
    });
}

TEST(SignalEdges, AReceiverOnAnotherThreadsLoopOpenedAfterTheOccurrenceGetsIt) {
    in_child([] {
        anyio_test::set_handler(SIGUSR1, count_usr1);
        std::atomic<bool> b_open{false};
        std::atomic<bool> a_closed{false};
        std::atomic<int> b_count{0};
        anyio::run([&]() -> anyio::task<> {
            auto a = anyio::open_signal_receiver(SIGUSR1);
            ::raise(SIGUSR1);
            co_await anyio::checkpoint();
            std::thread other([&] {
                anyio::run([&]() -> anyio::task<> {
                    auto b = anyio::open_signal_receiver(SIGUSR1);
                    b_open.store(true);
                    const anyio::signal_info info = co_await receive_info_within(b);
                    b_count.store(static_cast<int>(info.count));
                    EXPECT_TRUE(a_closed.load()) << "b got it before a closed";
                    EXPECT_FALSE((co_await anyio_test::receive_info_if_pending(b)).has_value());
                });
            });
            EXPECT_TRUE(anyio_test::wait_until([&] { return b_open.load(); }));
            a_closed.store(true);
            a.close();
            other.join();
        });
        EXPECT_EQ(b_count.load(), 1);
        EXPECT_EQ(usr1_hits.load(), 0);
    });
}

// Both open when it arrived: the one that closes hands nothing to the other, which has it
// already; and nothing goes to the previous handler.
TEST(SignalEdges, NoReceiverGetsAnOccurrenceTwice) {
    in_child([] {
        anyio_test::set_handler(SIGUSR1, count_usr1);
        anyio::run([]() -> anyio::task<> {
            auto a = anyio::open_signal_receiver(SIGUSR1);
            auto b = anyio::open_signal_receiver(SIGUSR1);
            ::raise(SIGUSR1);
            co_await anyio::checkpoint();
            a.close();
            const anyio::signal_info info = co_await receive_info_within(b);
            EXPECT_EQ(info.count, 1U);
            EXPECT_FALSE((co_await anyio_test::receive_info_if_pending(b)).has_value());
        });
        EXPECT_EQ(usr1_hits.load(), 0);
    });
}

TEST(SignalEdges, AReceiverOpenedAfterOurHandlerWasReplacedReceivesAndTheReplacementComesBack) {
    in_child([] {
        anyio_test::set_handler(SIGUSR1, count_usr1);
        anyio::run([]() -> anyio::task<> {
            auto a = anyio::open_signal_receiver(SIGUSR1);
            anyio_test::set_handler(SIGUSR1, count_foreign);  // other code takes SIGUSR1
            auto b = anyio::open_signal_receiver(SIGUSR1);
            ::raise(SIGUSR1);
            EXPECT_EQ(co_await anyio_test::receive_within(b), SIGUSR1);
            EXPECT_EQ(co_await anyio_test::receive_within(a), SIGUSR1);
            EXPECT_EQ(foreign_hits.load(), 0);
            b.close();
            a.close();
        });
        // The last close restores what the reinstall displaced: the replacement.
        EXPECT_EQ(anyio_test::handler_bits(anyio_test::read_action(SIGUSR1)),
                  anyio_test::bits_of(count_foreign));
        ::raise(SIGUSR1);
        EXPECT_EQ(foreign_hits.load(), 1);
        EXPECT_EQ(usr1_hits.load(), 0);
    });
}

}  // namespace
