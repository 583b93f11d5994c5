// anyio::blocking_portal: a loop in a thread of its own, called from threads without one.
// Values and exceptions, many threads at once, futures and their cancellation, stop and
// destruction, wrong-place errors, and signals received in the portal's loop. Real threads
// and real signals; timeouts are hang guards only.

#include <anyio/anyio.hpp>

#include "support/child_process.hpp"
#include "support/signal_helpers.hpp"
#include "thread/thread_helpers.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using anyio_test::wait_until;

// Parks the task until cancelled, counting the cleanup that then runs.
anyio::task<int> sleep_forever(std::shared_ptr<std::atomic<int>> cleanups) {
    try {
        co_await anyio::sleep(24h);
    } catch (const anyio::cancelled&) {
        cleanups->fetch_add(1);
        throw;
    }
    co_return 0;
}

}  // namespace

TEST(BlockingPortal, CallReturnsTheTaskValue) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    const int got = portal.call(
        [](int x) -> anyio::task<int> {
            co_await anyio::sleep(1ms);
            co_return x * 2;
        },
        21);
    EXPECT_EQ(got, 42);
    portal.call([]() -> anyio::task<> { co_await anyio::checkpoint(); });
}

TEST(BlockingPortal, CallRunsAPlainFunctionOnThePortalThread) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    const std::thread::id portal_thread = portal.call([] { return std::this_thread::get_id(); });
    EXPECT_NE(portal_thread, std::this_thread::get_id());
    // Plain functions run inside a task: loop-thread-only objects work there.
    const std::string got = portal.call(
        [](const std::string& s) {
            anyio::event ev;
            ev.set();
            return s + (ev.is_set() ? " ok" : " not ok");
        },
        std::string("event"));
    EXPECT_EQ(got, "event ok");
}

TEST(BlockingPortal, CallRethrows) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    EXPECT_THROW(portal.call([]() -> anyio::task<> {
        co_await anyio::checkpoint();
        throw std::runtime_error("task");
    }),
                 std::runtime_error);
    EXPECT_THROW(portal.call([]() -> int { throw std::invalid_argument("plain"); }),
                 std::invalid_argument);
    EXPECT_THROW(portal.call([]() -> anyio::task<> {
        co_await anyio::fail_after(1ms, []() -> anyio::task<> { co_await anyio::sleep(1h); });
    }),
                 anyio::timeout_error);
    // A `cancelled` the task throws itself stays in the loop: the caller gets a
    // std::exception saying so.
    anyio_test::expect_portal_cancelled(
        [&portal] {
            portal.call([]() -> anyio::task<> {
                co_await anyio::checkpoint();
                throw anyio::cancelled{};
            });
        },
        anyio::portal_cancel_reason::task);
    EXPECT_EQ(portal.call([] { return 1; }), 1) << "the portal survives its calls' failures";
}

// Eight threads call at once, 1000 times each, incrementing a counter that only the
// portal's loop touches: the final count is exact.
TEST(BlockingPortal, CallsFromEightThreadsKeepALoopSideCounterExact) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    int counter = 0;  // portal loop thread only
    constexpr int threads = 8;
    constexpr int calls = 1000;
    std::vector<std::thread> callers;
    std::atomic<int> failures{0};
    for (int t = 0; t < threads; ++t) {
        callers.emplace_back([&portal, &counter, &failures, t] {
            for (int i = 0; i < calls; ++i) {
                try {
                    if ((i + t) % 2 == 0) {
                        portal.call([&counter] { ++counter; });
                    } else {
                        portal.call([&counter]() -> anyio::task<> {
                            co_await anyio::checkpoint();
                            ++counter;
                        });
                    }
                } catch (...) {
                    failures.fetch_add(1);
                }
            }
        });
    }
    for (auto& t : callers)
        t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(portal.call([&counter] { return counter; }), threads * calls);
}

TEST(BlockingPortal, StartTaskSoonFutureGetWaitForDone) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    auto gate = std::make_shared<std::atomic<bool>>(false);
    anyio::portal_future<std::string> future =
        portal.start_task_soon([gate]() -> anyio::task<std::string> {
            while (!gate->load())
                co_await anyio::sleep(1ms);
            co_return std::string("done");
        });
    EXPECT_TRUE(future.valid());
    EXPECT_FALSE(future.done());
    EXPECT_FALSE(future.wait_for(5ms));
    gate->store(true);
    EXPECT_TRUE(future.wait_for(30s));
    EXPECT_TRUE(future.done());
    EXPECT_EQ(future.get(), "done");
    EXPECT_FALSE(future.valid());
    EXPECT_THROW(future.get(), std::logic_error);

    anyio::portal_future<void> failing = portal.start_task_soon([]() -> anyio::task<> {
        co_await anyio::checkpoint();
        throw std::runtime_error("failed");
    });
    EXPECT_THROW(failing.get(), std::runtime_error);
}

// cancel() cancels the task's own scope: its cleanup runs and get() throws
// portal_call_cancelled (future_cancelled); the portal carries on.
TEST(BlockingPortal, StartTaskSoonCancel) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    auto cleanups = std::make_shared<std::atomic<int>>(0);
    auto started = std::make_shared<std::atomic<bool>>(false);
    anyio::portal_future<int> future =
        portal.start_task_soon([cleanups, started]() -> anyio::task<int> {
            started->store(true);
            co_return co_await sleep_forever(cleanups);
        });
    ASSERT_TRUE(wait_until([&] { return started->load(); }));
    future.cancel();
    anyio_test::expect_portal_cancelled([&future] { (void)future.get(); },
                                        anyio::portal_cancel_reason::future_cancelled);
    EXPECT_EQ(cleanups->load(), 1);
    EXPECT_EQ(portal.call([] { return 5; }), 5);
}

// A cancel() that reaches the loop before the task started: the task starts cancelled.
TEST(BlockingPortal, CancelRightAfterStartTaskSoon) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    for (int i = 0; i < 20; ++i) {
        auto cleanups = std::make_shared<std::atomic<int>>(0);
        anyio::portal_future<int> future = portal.start_task_soon(sleep_forever, cleanups);
        future.cancel();
        EXPECT_TRUE(future.wait_for(30s));
        anyio_test::expect_portal_cancelled([&future] { (void)future.get(); },
                                            anyio::portal_cancel_reason::future_cancelled);
    }
}

// The destructor cancels a task still sleeping, lets its cleanup run, and joins the thread.
TEST(BlockingPortal, DestructorCancelsASleepingTaskAndJoins) {
    auto cleanups = std::make_shared<std::atomic<int>>(0);
    anyio::portal_future<int> future;
    {
        anyio::blocking_portal portal = anyio::start_blocking_portal();
        future = portal.start_task_soon(sleep_forever, cleanups);
        portal.call([] {});  // the task has started by now
    }
    EXPECT_TRUE(future.done());
    EXPECT_EQ(cleanups->load(), 1);
    anyio_test::expect_portal_cancelled([&future] { (void)future.get(); },
                                        anyio::portal_cancel_reason::portal_stopped);
}

// stop() without cancelling lets running tasks finish first.
TEST(BlockingPortal, StopLetsTasksFinish) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    anyio::portal_future<int> future = portal.start_task_soon([]() -> anyio::task<int> {
        co_await anyio::sleep(20ms);
        co_return 9;
    });
    portal.stop();
    EXPECT_FALSE(portal.running());
    EXPECT_TRUE(future.done());
    EXPECT_EQ(future.get(), 9);
    portal.stop();  // a second stop is harmless
}

TEST(BlockingPortal, StopCancellingRemainingTasks) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    auto cleanups = std::make_shared<std::atomic<int>>(0);
    auto a = portal.start_task_soon(sleep_forever, cleanups);
    auto b = portal.start_task_soon(sleep_forever, cleanups);
    portal.stop(true);
    anyio_test::expect_portal_cancelled([&a] { (void)a.get(); },
                                        anyio::portal_cancel_reason::portal_stopped);
    anyio_test::expect_portal_cancelled([&b] { (void)b.get(); },
                                        anyio::portal_cancel_reason::portal_stopped);
    EXPECT_LE(cleanups->load(), 2);  // a task cancelled before it started has no cleanup
}

TEST(BlockingPortal, CallAfterStopThrowsClosedResourceError) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    portal.stop();
    anyio_test::expect_thread_error<anyio::closed_resource_error>(
        [&portal] { portal.call([] { return 1; }); },
        "anyio::blocking_portal::call: the portal has stopped");
    anyio_test::expect_thread_error<anyio::closed_resource_error>(
        [&portal] { (void)portal.start_task_soon([]() -> anyio::task<> { co_return; }); },
        "anyio::blocking_portal::start_task_soon: the portal has stopped");
    EXPECT_EQ(portal.stop_signal(), 0);
}

// A task in the portal calling back through the portal would wait for itself.
TEST(BlockingPortal, CallOnThePortalThreadIsALogicError) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    EXPECT_THROW(portal.call([&portal] { return portal.call([] { return 1; }); }),
                 std::logic_error);
    EXPECT_THROW(portal.call([&portal] { portal.stop(); }), std::logic_error);
    EXPECT_TRUE(portal.running());
}

TEST(BlockingPortal, MoveTransfersThePortal) {
    anyio::blocking_portal first = anyio::start_blocking_portal();
    anyio::blocking_portal second = std::move(first);
    EXPECT_FALSE(
        first.running());  // NOLINT(bugprone-use-after-move): checking the moved-from state
    EXPECT_THROW(first.call([] { return 1; }), std::logic_error);
    EXPECT_EQ(second.call([] { return 2; }), 2);
    anyio::blocking_portal third = anyio::start_blocking_portal();
    third = std::move(second);  // stops third's own portal first
    EXPECT_EQ(third.call([] { return 3; }), 3);
}

TEST(BlockingPortal, PortalThreadBlocksAsynchronousSignals) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    const sigset_t mask = portal.call([] { return anyio_test::blocked_signals(); });
    anyio_test::expect_async_signals_blocked(mask);
    const sigset_t mine = anyio_test::blocked_signals();
    EXPECT_EQ(::sigismember(&mine, SIGUSR1), 0) << "the caller's mask changed";
}

// The portal's loop leaves Ctrl+C to the program: SIGINT stays at its default, and kills.
TEST(BlockingPortal, DoesNotClaimCtrlC) {
    const auto status = anyio_test::run_in_child([] {
        anyio::blocking_portal portal = anyio::start_blocking_portal();
        EXPECT_EQ(portal.call([] { return 1; }), 1);
        EXPECT_TRUE(anyio_test::is_default(SIGINT));
        if (::testing::Test::HasFailure()) return;
        ::raise(SIGINT);
        ADD_FAILURE() << "SIGINT did not end the process";
    });
    EXPECT_EQ(status.signal, SIGINT) << status.describe();
}

// A receiver in a portal task gets a signal sent to the process from the main thread, which
// runs no loop and does not die: the portal thread blocks the signal, so the process-wide
// handler runs on the main thread and wakes the portal's loop through its slot.
TEST(BlockingPortal, SignalReceiverInAPortalGetsAProcessSignal) {
    const auto status = anyio_test::run_in_child([] {
        anyio::blocking_portal portal = anyio::start_blocking_portal();
        auto ready = std::make_shared<std::atomic<bool>>(false);
        anyio::portal_future<int> received = portal.start_task_soon([ready]() -> anyio::task<int> {
            auto signals = anyio::open_signal_receiver(SIGUSR1);
            ready->store(true);
            co_return co_await signals.receive();
        });
        ASSERT_TRUE(wait_until([&] { return ready->load(); }));
        const sigset_t portal_mask = portal.call([] { return anyio_test::blocked_signals(); });
        EXPECT_EQ(::sigismember(&portal_mask, SIGUSR1), 1);
        ::kill(::getpid(), SIGUSR1);
        ASSERT_TRUE(received.wait_for(30s)) << "the portal's receiver never got SIGUSR1";
        EXPECT_EQ(received.get(), SIGUSR1);
        portal.stop();
        EXPECT_TRUE(anyio_test::is_default(SIGUSR1));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}
