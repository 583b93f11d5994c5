// What a plain thread catches when its call into a loop is cancelled or refused: always a
// std::exception that says what happened (portal_call_cancelled, worker_cancelled,
// closed_resource_error), never anyio::cancelled, which stays inside loops. Each scenario
// waits in a plain std::thread with nothing but `catch (const std::exception&)`: an
// anyio::cancelled would escape it and end the test process. Handshakes, never sleeps.

#include <anyio/anyio.hpp>

#include "support/child_process.hpp"
#include "support/run_helpers.hpp"
#include "thread/thread_helpers.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>

namespace {

using namespace std::chrono_literals;
using anyio_test::wait_until;

static_assert(std::is_base_of_v<std::exception, anyio::portal_call_cancelled>);
static_assert(std::is_base_of_v<std::exception, anyio::worker_cancelled>);
static_assert(std::is_base_of_v<std::exception, anyio::closed_resource_error>);
static_assert(!std::is_base_of_v<std::exception, anyio::cancelled>,
              "cancelled must stay out of reach of catch (const std::exception&)");

// Runs `call` in a plain thread that catches only std::exception; returns what() (empty
// if nothing was thrown).
template <class Call>
std::string what_a_plain_thread_catches(Call call) {
    std::optional<std::string> caught;
    std::thread plain([&caught, call]() mutable {
        try {
            call();
            caught.emplace();
        } catch (const std::exception& e) {
            caught.emplace(e.what());
        }
    });
    plain.join();
    return caught.value_or("(nothing)");
}

// A task that says it runs, then sleeps until cancelled.
anyio::task<int> park(std::shared_ptr<std::atomic<bool>> running) {
    running->store(true);
    co_await anyio::sleep(24h);
    co_return 0;
}

}  // namespace

TEST(ThreadErrors, FutureCancelledInAPlainThread) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    auto running = std::make_shared<std::atomic<bool>>(false);
    anyio::portal_future<int> future = portal.start_task_soon(park, running);
    ASSERT_TRUE(wait_until([&] { return running->load(); }));
    future.cancel();
    EXPECT_EQ(what_a_plain_thread_catches([&future] { (void)future.get(); }),
              "anyio::blocking_portal: the portal task was cancelled by portal_future::cancel()");
}

// stop(true) while a plain thread waits in call().
TEST(ThreadErrors, PortalStoppedWhileAPlainThreadWaitsInCall) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    auto running = std::make_shared<std::atomic<bool>>(false);
    std::string caught;
    std::thread caller(
        [&] { caught = what_a_plain_thread_catches([&] { (void)portal.call(park, running); }); });
    ASSERT_TRUE(wait_until([&] { return running->load(); }));
    portal.stop(true);
    caller.join();
    EXPECT_EQ(caught,
              "anyio::blocking_portal: the portal task was cancelled because the portal was "
              "stopped (stop(true) or its destructor)");
}

// The portal's destructor cancels a task whose future a plain thread waits for.
TEST(ThreadErrors, PortalDestroyedWhileAPlainThreadWaitsInGet) {
    auto running = std::make_shared<std::atomic<bool>>(false);
    anyio::portal_future<int> future;
    std::string caught;
    std::thread waiter;
    {
        anyio::blocking_portal portal = anyio::start_blocking_portal();
        future = portal.start_task_soon(park, running);
        ASSERT_TRUE(wait_until([&] { return running->load(); }));
        waiter = std::thread(
            [&] { caught = what_a_plain_thread_catches([&future] { (void)future.get(); }); });
    }  // the destructor ends the wait (or settles the future before get() even starts)
    waiter.join();
    EXPECT_EQ(caught,
              "anyio::blocking_portal: the portal task was cancelled because the portal was "
              "stopped (stop(true) or its destructor)");
}

TEST(ThreadErrors, CallAfterStopSaysThePortalStopped) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    portal.stop();
    EXPECT_EQ(what_a_plain_thread_catches([&portal] { portal.call([] {}); }),
              "anyio::blocking_portal::call: the portal has stopped");
}

// A task that throws `cancelled` itself: nothing cancelled it, and the message says so.
TEST(ThreadErrors, AStrayCancelledBecomesAPortalCallCancelled) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    const std::string caught = what_a_plain_thread_catches([&portal] {
        portal.call([]() -> anyio::task<> {
            co_await anyio::checkpoint();
            throw anyio::cancelled{};
        });
    });
    EXPECT_EQ(caught,
              "anyio::blocking_portal: the portal task ended with anyio::cancelled, though "
              "neither portal_future::cancel() nor a stop of the portal cancelled it");
}

// The errors keep what() when copied, as a thread handing them on would.
TEST(ThreadErrors, PortalCallCancelledCarriesItsReasonAndSignal) {
    const anyio::portal_call_cancelled by_signal(anyio::portal_cancel_reason::signal, SIGTERM);
    const anyio::portal_call_cancelled copy = by_signal;
    EXPECT_EQ(copy.reason(), anyio::portal_cancel_reason::signal);
    EXPECT_EQ(copy.signo(), SIGTERM);
    EXPECT_STREQ(copy.what(),
                 "anyio::blocking_portal: the portal task was cancelled because SIGTERM (15) "
                 "stopped the portal");
    const anyio::portal_call_cancelled by_future(anyio::portal_cancel_reason::future_cancelled);
    EXPECT_EQ(by_future.signo(), 0);
}
