// blocking_portal::start_task (AnyIO's BlockingPortal.start_task): it blocks until the task
// calls task_status::started(value) and returns the value with the task's future; a task
// that fails, returns or is cancelled before started() makes start_task throw that. Real
// threads; handshakes through events and flags, never sleeps.

#include <anyio/anyio.hpp>

#include "support/child_process.hpp"
#include "thread/thread_helpers.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace {

using namespace std::chrono_literals;
using anyio_test::wait_until;

// Reports ready with `base + 1`, then waits for `release` and returns a text; `before`
// shows what ran before started().
anyio::task<std::string> serve(anyio::task_status<int>& status, int base,
                               std::shared_ptr<anyio::event> release,
                               std::shared_ptr<std::atomic<bool>> before) {
    co_await anyio::sleep(1ms);
    before->store(true);
    status.started(base + 1);
    co_await release->wait();
    co_return std::string("served");
}

// Parks until cancelled before calling started(), counting its cleanup.
anyio::task<> never_ready(anyio::task_status<>& /*status*/,
                          std::shared_ptr<std::atomic<bool>> waiting,
                          std::shared_ptr<std::atomic<int>> cleanups) {
    waiting->store(true);
    co_await anyio_test::sleep_counting_cleanup(std::move(cleanups));
}

}  // namespace

TEST(PortalStartTask, ReturnsTheStartedValueAndTheFuture) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    auto release = std::make_shared<anyio::event>();
    auto before = std::make_shared<std::atomic<bool>>(false);
    auto [future, value] = portal.start_task(serve, 41, release, before);
    EXPECT_EQ(value, 42);
    EXPECT_TRUE(before->load()) << "start_task returned before the task called started()";
    EXPECT_FALSE(future.done()) << "the task goes on after started()";
    portal.call([release] { release->set(); });
    EXPECT_EQ(future.get(), "served");
}

TEST(PortalStartTask, VoidStatusAndALambda) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    auto started = portal.start_task([](anyio::task_status<>& status) -> anyio::task<int> {
        co_await anyio::checkpoint();
        status.started();
        co_return 7;
    });
    EXPECT_EQ(started.future.get(), 7);
}

TEST(PortalStartTask, ArgumentsAreCopiesAndStdRefShares) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    std::string text = "copied";
    int counter = 0;
    auto [future, length] = portal.start_task(
        [](anyio::task_status<std::size_t>& status, const std::string& s, int& n) -> anyio::task<> {
            ++n;
            status.started(s.size());
            co_return;
        },
        text, std::ref(counter));
    text.clear();  // the task has its own copy
    future.get();
    EXPECT_EQ(length, 6U);
    EXPECT_EQ(counter, 1);
}

// AnyIO: "if the task raises an exception before calling started(), it is raised here".
TEST(PortalStartTask, FailureBeforeStartedIsThrownInTheCaller) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    const auto error = anyio_test::expect_thread_error<std::invalid_argument>(
        [&portal] {
            (void)portal.start_task([](anyio::task_status<int>&) -> anyio::task<> {
                co_await anyio::checkpoint();
                throw std::invalid_argument("no port to listen on");
            });
        },
        "no port to listen on");
    EXPECT_TRUE(error.has_value());
    EXPECT_EQ(portal.call([] { return 1; }), 1) << "the portal carries on";
}

TEST(PortalStartTask, ReturningWithoutStartedIsAnError) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    anyio_test::expect_thread_error<std::runtime_error>(
        [&portal] {
            (void)portal.start_task(
                [](anyio::task_status<>&) -> anyio::task<> { co_await anyio::checkpoint(); });
        },
        "anyio::blocking_portal::start_task: the task ended without calling started()");
}

// After started(), the task's outcome belongs to the future, as it is (no group around it).
TEST(PortalStartTask, FailureAfterStartedGoesToTheFuture) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    auto started = portal.start_task([](anyio::task_status<>& status) -> anyio::task<> {
        status.started();
        co_await anyio::checkpoint();
        throw std::out_of_range("after started");
    });
    anyio_test::expect_thread_error<std::out_of_range>([&] { started.future.get(); },
                                                       "after started");
}

TEST(PortalStartTask, StartedTwiceFailsTheTask) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    auto started = portal.start_task([](anyio::task_status<int>& status) -> anyio::task<> {
        status.started(1);
        status.started(2);
        co_return;
    });
    EXPECT_EQ(started.value, 1);
    anyio_test::expect_thread_error<std::logic_error>([&started] { started.future.get(); },
                                                      "started() called twice");
}

TEST(PortalStartTask, TheFutureCancelsTheTask) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    auto cleanups = std::make_shared<std::atomic<int>>(0);
    auto started = portal.start_task([cleanups](anyio::task_status<>& status) -> anyio::task<> {
        status.started();
        co_await anyio_test::sleep_counting_cleanup(cleanups);
    });
    started.future.cancel();
    anyio_test::expect_portal_cancelled([&started] { started.future.get(); },
                                        anyio::portal_cancel_reason::future_cancelled);
    EXPECT_EQ(cleanups->load(), 1);
}

// stop(true) from another thread while start_task waits: start_task throws
// portal_call_cancelled once the task's cleanup ran.
TEST(PortalStartTask, StopBeforeStartedThrowsInTheCaller) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    auto waiting = std::make_shared<std::atomic<bool>>(false);
    auto cleanups = std::make_shared<std::atomic<int>>(0);
    std::thread stopper([&portal, waiting] {
        ASSERT_TRUE(wait_until([&] { return waiting->load(); }));
        portal.stop(true);
    });
    anyio_test::expect_portal_cancelled(
        [&] { (void)portal.start_task(never_ready, waiting, cleanups); },
        anyio::portal_cancel_reason::portal_stopped);
    stopper.join();
    EXPECT_EQ(cleanups->load(), 1);
}

TEST(PortalStartTask, AfterStopThrowsClosedResourceError) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    portal.stop();
    anyio_test::expect_thread_error<anyio::closed_resource_error>(
        [&portal] {
            (void)portal.start_task([](anyio::task_status<>& status) -> anyio::task<> {
                status.started();
                co_return;
            });
        },
        "anyio::blocking_portal::start_task: the portal has stopped");
}

TEST(PortalStartTask, OnThePortalThreadIsALogicError) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    EXPECT_THROW(portal.call([&portal] {
        (void)portal.start_task([](anyio::task_status<>& status) -> anyio::task<> {
            status.started();
            co_return;
        });
    }),
                 std::logic_error);
}
