// Fan-out: every open receiver of a signal gets it, whichever task, loop or thread it is
// on. Real signals, each scenario in a forked child; timeouts are hang guards only.

#include <anyio/anyio.hpp>

#include "support/child_process.hpp"
#include "support/signal_helpers.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using anyio_test::is_default;
using anyio_test::receive_if_pending;
using anyio_test::receive_within;

// Waits (on the loop) until `count` reaches `target`.
anyio::task<> wait_for_count(const std::atomic<int>& count, int target) {
    co_await anyio::fail_after(10s, [&count, target]() -> anyio::task<> {
        while (count.load() < target)
            co_await anyio::sleep(1ms);
    });
}

// Runs a loop in the calling thread with a receiver for SIGUSR1: counts `ready` once the
// receiver is open, then stores the signal it receives (or -1 on error) into `got`.
void receive_one_on_own_loop(std::atomic<int>& ready, std::atomic<int>& got, std::string& error) {
    try {
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR1);
            ready.fetch_add(1);
            got.store(co_await receive_within(signals));
        });
    } catch (const std::exception& e) {
        error = e.what();
        got.store(-1);
    } catch (...) {
        error = "non-std exception";
        got.store(-1);
    }
}

}  // namespace

// Two receivers open in the same task, one inside an inner scope: both get the signal; the
// outer one still works (and the handler stays) once the inner one has closed.
TEST(SignalFanout, NestedReceiversInOneTaskBothGetIt) {
    const auto status = anyio_test::run_in_child([] {
        int outer_first = 0;
        int inner_got = 0;
        int outer_second = 0;
        std::optional<int> outer_extra;
        anyio::run([&]() -> anyio::task<> {
            auto outer = anyio::open_signal_receiver(SIGUSR1);
            anyio::cancel_scope inner_scope;
            co_await inner_scope.run([&]() -> anyio::task<> {
                auto inner = anyio::open_signal_receiver(SIGUSR1);
                ::raise(SIGUSR1);
                inner_got = co_await receive_within(inner);
                outer_first = co_await receive_within(outer);
            });
            // The inner receiver is closed; with SIG_DFL back this raise would kill us.
            ::raise(SIGUSR1);
            outer_second = co_await receive_within(outer);
            outer_extra = co_await receive_if_pending(outer);
        });
        EXPECT_EQ(inner_got, SIGUSR1);
        EXPECT_EQ(outer_first, SIGUSR1);
        EXPECT_EQ(outer_second, SIGUSR1);
        EXPECT_FALSE(outer_extra.has_value()) << "got " << outer_extra.value_or(0);
        EXPECT_TRUE(is_default(SIGUSR1));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// Sibling tasks, each with its own receiver, both get one signal sent once.
TEST(SignalFanout, SiblingTasksEachWithAReceiverBothGetIt) {
    const auto status = anyio_test::run_in_child([] {
        std::array<int, 2> got{};
        anyio::run([&]() -> anyio::task<> {
            int ready = 0;
            co_await anyio::fail_after(10s, [&]() -> anyio::task<> {
                co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                    for (std::size_t i = 0; i < got.size(); ++i) {
                        tg.start_soon(
                            [&](std::size_t index) -> anyio::task<> {
                                auto signals = anyio::open_signal_receiver(SIGUSR1);
                                ++ready;
                                got.at(index) = co_await signals.receive();
                            },
                            i);
                    }
                    while (ready < static_cast<int>(got.size()))
                        co_await anyio::checkpoint();
                    ::raise(SIGUSR1);
                });
            });
        });
        EXPECT_EQ(got[0], SIGUSR1);
        EXPECT_EQ(got[1], SIGUSR1);
        EXPECT_TRUE(is_default(SIGUSR1));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// Fan-out filters: each receiver gets the signals it asked for, and only those, in
// arrival order.
TEST(SignalFanout, EachReceiverGetsOnlyTheSignalsItAskedFor) {
    const auto status = anyio_test::run_in_child([] {
        std::vector<int> only_usr1;
        std::vector<int> both;
        std::vector<int> only_usr2;
        anyio::run([&]() -> anyio::task<> {
            auto a = anyio::open_signal_receiver(SIGUSR1);
            auto b = anyio::open_signal_receiver(SIGUSR1, SIGUSR2);
            auto c = anyio::open_signal_receiver(SIGUSR2);
            ::raise(SIGUSR2);
            ::raise(SIGUSR1);
            only_usr1.push_back(co_await receive_within(a));
            both.push_back(co_await receive_within(b));
            both.push_back(co_await receive_within(b));
            only_usr2.push_back(co_await receive_within(c));
            const std::array<anyio::signal_receiver*, 3> all = {&a, &b, &c};
            for (anyio::signal_receiver* r : all) {
                const auto extra = co_await receive_if_pending(*r);
                EXPECT_FALSE(extra.has_value()) << "got " << extra.value_or(0);
            }
        });
        EXPECT_EQ(only_usr1, std::vector<int>{SIGUSR1});
        EXPECT_EQ(both, (std::vector<int>{SIGUSR2, SIGUSR1}));
        EXPECT_EQ(only_usr2, std::vector<int>{SIGUSR2});
        EXPECT_TRUE(is_default(SIGUSR1));
        EXPECT_TRUE(is_default(SIGUSR2));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// A receiver gets what arrives while it is open: one opened after a signal arrived (but
// before the loop dispatched it) does not get that signal; the one already open does.
TEST(SignalFanout, ReceiverOpenedLaterDoesNotGetAnEarlierSignal) {
    const auto status = anyio_test::run_in_child([] {
        int early_got = 0;
        std::optional<int> late_extra;
        int early_second = 0;
        int late_second = 0;
        anyio::run([&]() -> anyio::task<> {
            auto early = anyio::open_signal_receiver(SIGUSR1);
            ::raise(SIGUSR1);
            auto late = anyio::open_signal_receiver(SIGUSR1);
            early_got = co_await receive_within(early);
            late_extra = co_await receive_if_pending(late);
            ::raise(SIGUSR1);
            early_second = co_await receive_within(early);
            late_second = co_await receive_within(late);
        });
        EXPECT_EQ(early_got, SIGUSR1);
        EXPECT_FALSE(late_extra.has_value()) << "the later receiver got an earlier signal";
        EXPECT_EQ(early_second, SIGUSR1);
        EXPECT_EQ(late_second, SIGUSR1);
        EXPECT_TRUE(is_default(SIGUSR1));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// Loops in three other threads and in the main thread each have a receiver; one
// kill(getpid(), SIGUSR1) reaches all four.
TEST(SignalFanout, ReceiversOnLoopsInOtherThreadsAllGetIt) {
    const auto status = anyio_test::run_in_child([] {
        constexpr int workers = 3;
        std::atomic<int> ready{0};
        std::array<std::atomic<int>, workers> worker_got{};
        std::array<std::string, workers> worker_error;
        std::vector<std::thread> threads;
        for (std::size_t i = 0; i < workers; ++i) {
            threads.emplace_back(
                [&, i] { receive_one_on_own_loop(ready, worker_got.at(i), worker_error.at(i)); });
        }
        int main_got = 0;
        try {
            anyio::run([&]() -> anyio::task<> {
                auto signals = anyio::open_signal_receiver(SIGUSR1);
                co_await wait_for_count(ready, workers);
                ::kill(::getpid(), SIGUSR1);
                main_got = co_await receive_within(signals);
            });
        } catch (...) {
            // Unblock the workers (they wait for the signal) before joining them.
            ::kill(::getpid(), SIGUSR1);
            for (auto& t : threads)
                t.join();
            throw;
        }
        for (auto& t : threads)
            t.join();
        EXPECT_EQ(main_got, SIGUSR1);
        for (std::size_t i = 0; i < workers; ++i) {
            EXPECT_EQ(worker_got.at(i).load(), SIGUSR1)
                << "worker " << i << ": " << worker_error.at(i);
        }
        EXPECT_TRUE(is_default(SIGUSR1));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// A receiver on a worker thread's loop works when the main thread has no loop at all
// (the signal may be delivered to the main thread: the handler still wakes the worker).
TEST(SignalFanout, ReceiverOnAWorkerLoopWorksWithoutOneOnTheMainThread) {
    const auto status = anyio_test::run_in_child([] {
        std::atomic<int> ready{0};
        std::atomic<int> got{0};
        std::string error;
        std::thread worker([&] { receive_one_on_own_loop(ready, got, error); });
        ASSERT_TRUE(anyio_test::wait_until([&] { return ready.load() == 1; }, 10s));
        ::kill(::getpid(), SIGUSR1);
        worker.join();
        EXPECT_EQ(got.load(), SIGUSR1) << error;
        EXPECT_TRUE(is_default(SIGUSR1));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// The signal is directed at the main thread (pthread_kill), which has no loop: the
// worker's receiver gets it.
TEST(SignalFanout, SignalDirectedAtAThreadWithoutALoopReachesAWorkerLoop) {
    const auto status = anyio_test::run_in_child([] {
        std::atomic<int> ready{0};
        std::atomic<int> got{0};
        std::string error;
        std::thread worker([&] { receive_one_on_own_loop(ready, got, error); });
        ASSERT_TRUE(anyio_test::wait_until([&] { return ready.load() == 1; }, 10s));
        EXPECT_EQ(::pthread_kill(::pthread_self(), SIGUSR1), 0);
        worker.join();
        EXPECT_EQ(got.load(), SIGUSR1) << error;
        EXPECT_TRUE(is_default(SIGUSR1));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// The main thread blocks SIGUSR1, so the kernel must deliver it to the worker thread
// running the loop (it lands in the loop thread itself, typically inside epoll_wait).
TEST(SignalFanout, SignalDeliveredToTheLoopThreadItselfIsReceived) {
    const auto status = anyio_test::run_in_child([] {
        sigset_t usr1;
        ::sigemptyset(&usr1);
        ::sigaddset(&usr1, SIGUSR1);
        std::atomic<int> ready{0};
        std::atomic<int> got{0};
        std::string error;
        // The worker inherits the empty mask; only then does the main thread block it.
        std::thread worker([&] { receive_one_on_own_loop(ready, got, error); });
        ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &usr1, nullptr), 0);
        ASSERT_TRUE(anyio_test::wait_until([&] { return ready.load() == 1; }, 10s));
        ::kill(::getpid(), SIGUSR1);
        worker.join();
        EXPECT_EQ(got.load(), SIGUSR1) << error;
        EXPECT_TRUE(is_default(SIGUSR1));
        ASSERT_EQ(::pthread_sigmask(SIG_UNBLOCK, &usr1, nullptr), 0);
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}
