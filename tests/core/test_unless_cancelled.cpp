// unless_cancelled(op): cancellation reported as a value instead of a throw.

#include <anyio/anyio.hpp>

#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <optional>

using namespace std::chrono_literals;

namespace {

TEST(UnlessCancelled, CompletedOperationsReportSuccess) {
    anyio_test::run_autojump([]() -> anyio::task<> {
        EXPECT_TRUE(co_await anyio::unless_cancelled(anyio::sleep(1ms)));
        EXPECT_TRUE(co_await anyio::unless_cancelled(anyio::checkpoint()));
        anyio::event ev;
        ev.set();
        EXPECT_TRUE(co_await anyio::unless_cancelled(ev.wait()));
    });
}

TEST(UnlessCancelled, CancelledSleepReturnsFalseAndTheScopeStaysCancelled) {
    anyio_test::run_autojump([]() -> anyio::task<> {
        bool slept = true;
        bool next_checkpoint_threw = false;
        bool finished = true;
        anyio::cancel_scope scope;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await anyio::sleep(1ms);
                scope.cancel();
            });
            finished = co_await scope.run([&]() -> anyio::task<> {
                slept = co_await anyio::unless_cancelled(anyio::sleep(1h));
                try {
                    co_await anyio::checkpoint();  // level-triggered: still cancelled
                } catch (const anyio::cancelled&) {
                    next_checkpoint_threw = true;
                    throw;
                }
            });
        });
        EXPECT_FALSE(slept);
        EXPECT_TRUE(next_checkpoint_threw);
        EXPECT_FALSE(finished);
        EXPECT_TRUE(scope.cancelled_caught());
    });
}

TEST(UnlessCancelled, AlreadyCancelledOperationsReturnAtOnce) {
    anyio::run([]() -> anyio::task<> {
        anyio::cancel_scope scope;
        std::optional<int> got = 7;
        bool checkpoint_ok = true;
        bool event_ok = true;
        (void)co_await scope.run([&]() -> anyio::task<> {
            scope.cancel();
            checkpoint_ok = co_await anyio::unless_cancelled(anyio::checkpoint());
            anyio::event never;
            event_ok = co_await anyio::unless_cancelled(never.wait());
            auto signals = anyio::open_signal_receiver(SIGUSR1);
            got = co_await anyio::unless_cancelled(signals.receive());
        });
        EXPECT_FALSE(checkpoint_ok);
        EXPECT_FALSE(event_ok);
        EXPECT_FALSE(got.has_value());
    });
}

TEST(UnlessCancelled, ReceiveYieldsTheSignalWhenNotCancelled) {
    anyio::run([]() -> anyio::task<> {
        auto signals = anyio::open_signal_receiver(SIGUSR1);
        ::raise(SIGUSR1);
        const std::optional<int> got = co_await anyio::unless_cancelled(signals.receive());
        EXPECT_EQ(got, SIGUSR1);
        const std::optional<anyio::signal_info> none =
            co_await anyio::move_on_after(10ms, [&]() -> anyio::task<anyio::signal_info> {
                co_return co_await signals.receive_info();
            });
        EXPECT_FALSE(none.has_value());
    });
}

}  // namespace
