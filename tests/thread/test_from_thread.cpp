// anyio::from_thread::run / run_sync: from a to_thread worker back into its loop; values,
// exceptions, wrong-place errors, and what cancelling the waiting task does to a call in
// progress. Real threads; timeouts are hang guards only.

#include <anyio/anyio.hpp>

#include "support/child_process.hpp"
#include "support/run_helpers.hpp"
#include "thread/thread_helpers.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;
using anyio_test::loop_wait_until;
using anyio_test::run_guarded;
using anyio_test::settle;
using anyio_test::wait_until;

constexpr anyio::to_thread::run_sync_options abandon{.limiter = nullptr, .abandon_on_cancel = true};

bool is_waiting_task_cancelled(const std::exception& e) {
    return std::string(e.what()) ==
           "anyio::from_thread: the task waiting for this worker thread was cancelled";
}

}  // namespace

TEST(FromThread, RunReturnsTheTaskValueRunOnTheLoopThread) {
    const std::thread::id loop_thread = std::this_thread::get_id();
    std::thread::id task_thread;
    int got = 0;
    run_guarded([&]() -> anyio::task<> {
        got = co_await anyio::to_thread::run_sync([&task_thread] {
            return anyio::from_thread::run(
                [&task_thread](int x) -> anyio::task<int> {
                    co_await anyio::sleep(1ms);
                    task_thread = std::this_thread::get_id();
                    co_return x + 1;
                },
                41);
        });
    });
    EXPECT_EQ(got, 42);
    EXPECT_EQ(task_thread, loop_thread);
}

TEST(FromThread, RunRethrowsTheTaskException) {
    std::string in_worker;
    std::string in_task;
    run_guarded([&]() -> anyio::task<> {
        try {
            co_await anyio::to_thread::run_sync([&in_worker] {
                try {
                    anyio::from_thread::run([]() -> anyio::task<> {
                        co_await anyio::checkpoint();
                        throw std::invalid_argument("from the loop");
                    });
                } catch (const std::invalid_argument& e) {
                    in_worker = e.what();
                    throw std::runtime_error("from the worker");
                }
            });
        } catch (const std::runtime_error& e) {
            in_task = e.what();
        }
    });
    EXPECT_EQ(in_worker, "from the loop");
    EXPECT_EQ(in_task, "from the worker");
}

TEST(FromThread, RunSyncRunsThePlainFunctionOnTheLoopThread) {
    const std::thread::id loop_thread = std::this_thread::get_id();
    std::thread::id ran_on;
    std::string got;
    run_guarded([&]() -> anyio::task<> {
        anyio::event ev;
        got = co_await anyio::to_thread::run_sync([&] {
            return anyio::from_thread::run_sync(
                [&](const std::string& s) {
                    ran_on = std::this_thread::get_id();
                    ev.set();  // loop-thread-only objects are fine here
                    return s + "!";
                },
                std::string("hi"));
        });
        EXPECT_TRUE(ev.is_set());
    });
    EXPECT_EQ(got, "hi!");
    EXPECT_EQ(ran_on, loop_thread);
}

TEST(FromThread, RunSyncRethrows) {
    bool caught = false;
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::to_thread::run_sync([&caught] {
            try {
                anyio::from_thread::run_sync([]() -> int { throw std::out_of_range("nope"); });
            } catch (const std::out_of_range&) {
                caught = true;
            }
        });
    });
    EXPECT_TRUE(caught);
}

// Several workers each make many round trips that touch a plain int on the loop: every
// one runs on the loop thread, so the count is exact (and TSan sees no race).
TEST(FromThread, ManyRoundTripsKeepALoopSideCounterExact) {
    int counter = 0;
    constexpr int workers = 4;
    constexpr int trips = 500;
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int w = 0; w < workers; ++w) {
                tg.start_soon([&counter]() -> anyio::task<> {
                    co_await anyio::to_thread::run_sync([&counter] {
                        for (int i = 0; i < trips; ++i) {
                            anyio::from_thread::run_sync([&counter] { ++counter; });
                            anyio::from_thread::run([&counter]() -> anyio::task<> {
                                co_await anyio::checkpoint();
                                ++counter;
                            });
                        }
                    });
                });
            }
            co_return;
        });
    });
    EXPECT_EQ(counter, workers * trips * 2);
}

TEST(FromThread, OutsideAWorkerThreadIsALogicError) {
    EXPECT_THROW(anyio::from_thread::run_sync([] { return 1; }), std::logic_error);
    bool threw = false;
    std::thread plain([&threw] {
        try {
            anyio::from_thread::run([]() -> anyio::task<> { co_return; });
        } catch (const std::logic_error& e) {
            threw = std::string(e.what()).find("to_thread::run_sync") != std::string::npos;
        }
    });
    plain.join();
    EXPECT_TRUE(threw);
}

TEST(FromThread, OnALoopThreadIsALogicError) {
    int errors = 0;
    run_guarded([&]() -> anyio::task<> {
        try {
            anyio::from_thread::run_sync([] {});
        } catch (const std::logic_error&) {
            ++errors;
        }
        try {
            anyio::from_thread::run([]() -> anyio::task<> { co_return; });
        } catch (const std::logic_error&) {
            ++errors;
        }
        co_return;
    });
    EXPECT_EQ(errors, 2);
}

// Not abandoned on cancel (the default): cancelling the waiting task leaves a call in
// progress alone (it is shielded); the call and then the function finish normally.
TEST(FromThread, CallInProgressSurvivesCancellingTheWaitingTask) {
    std::atomic<bool> inside{false};
    bool call_finished = false;
    std::string worker_saw;
    bool caught = false;
    run_guarded([&]() -> anyio::task<> {
        anyio::cancel_scope scope;
        anyio::event proceed;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await scope.run([&]() -> anyio::task<> {
                    worker_saw = co_await anyio::to_thread::run_sync([&] {
                        return anyio::from_thread::run([&]() -> anyio::task<std::string> {
                            inside.store(true);
                            co_await proceed.wait();
                            call_finished = true;
                            co_return std::string("finished");
                        });
                    });
                    co_await anyio::checkpoint();  // where the pending cancellation lands
                });
            });
            co_await loop_wait_until([&] { return inside.load(); });
            scope.cancel();
            co_await settle();
            EXPECT_FALSE(call_finished);
            proceed.set();
        });
        caught = scope.cancelled_caught();
    });
    EXPECT_TRUE(call_finished);
    EXPECT_EQ(worker_saw, "finished");
    EXPECT_TRUE(caught);
}

// abandon_on_cancel: cancelling the waiting task cancels the call in progress (the worker
// sees worker_cancelled, a std::exception), and later calls from that worker throw it at
// once.
TEST(FromThread, AbandonedWaitCancelsTheCallAndRefusesLaterOnes) {
    struct shared_state {
        std::atomic<bool> inside{false};
        std::atomic<bool> first_cancelled{false};
        std::atomic<bool> go_on{false};
        std::atomic<bool> second_cancelled{false};
        std::atomic<bool> done{false};
    };
    auto st = std::make_shared<shared_state>();
    bool returned = false;
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::move_on_after(1h, [&](anyio::cancel_scope& scope) -> anyio::task<> {
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon([&, st]() -> anyio::task<> {
                    // Named first: g++ 12 miscompiles a lambda that captures by copy written
                    // inside a co_await expression (README, g++ 12 pitfalls).
                    auto work = [st] {
                        try {
                            anyio::from_thread::run([st]() -> anyio::task<> {
                                st->inside.store(true);
                                co_await anyio::sleep(1h);
                            });
                        } catch (const anyio::worker_cancelled& e) {
                            st->first_cancelled.store(is_waiting_task_cancelled(e));
                        }
                        wait_until([st] { return st->go_on.load(); });
                        try {
                            anyio::from_thread::run_sync([] {});
                        } catch (const anyio::worker_cancelled& e) {
                            st->second_cancelled.store(is_waiting_task_cancelled(e));
                        }
                        st->done.store(true);
                    };
                    co_await anyio::to_thread::run_sync(abandon, work);
                });
                co_await loop_wait_until([&] { return st->inside.load(); });
                scope.cancel();
            });
        });
        returned = true;
        co_await loop_wait_until([&] { return st->first_cancelled.load(); });
        st->go_on.store(true);
        co_await loop_wait_until([&] { return st->done.load(); });
    });
    EXPECT_TRUE(returned);
    EXPECT_TRUE(st->first_cancelled.load());
    EXPECT_TRUE(st->second_cancelled.load());
}

// A worker abandoned by its task calls back after the loop has ended: worker_cancelled.
TEST(FromThread, CallAfterTheLoopEndedThrowsWorkerCancelled) {
    struct shared_state {
        std::atomic<bool> started{false};
        std::atomic<bool> go_on{false};
        std::atomic<int> outcome{0};  // 1: worker_cancelled, 2: ran, 3: another error
        std::string message;
    };
    auto st = std::make_shared<shared_state>();
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::move_on_after(1h, [&](anyio::cancel_scope& scope) -> anyio::task<> {
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon([st]() -> anyio::task<> {
                    auto work = [st] {  // named first: see above
                        st->started.store(true);
                        wait_until([st] { return st->go_on.load(); });
                        try {
                            anyio::from_thread::run_sync([] {});
                            st->outcome.store(2);
                        } catch (const std::exception& e) {
                            st->message = e.what();  // published by the store below
                            st->outcome.store(
                                dynamic_cast<const anyio::worker_cancelled*>(&e) != nullptr ? 1
                                                                                            : 3);
                        }
                    };
                    co_await anyio::to_thread::run_sync(abandon, work);
                });
                co_await loop_wait_until([&] { return st->started.load(); });
                scope.cancel();
            });
        });
    });
    st->go_on.store(true);
    EXPECT_TRUE(wait_until([&] { return st->outcome.load() != 0; }));
    EXPECT_EQ(st->outcome.load(), 1);
    EXPECT_EQ(st->message,
              "anyio::from_thread: the event loop of the task that started this worker thread "
              "has ended");
}

// A portal task hands work to a worker, which calls back into the portal's loop.
TEST(FromThread, WorksFromAWorkerOfAPortalTask) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    const int got = portal.call([]() -> anyio::task<int> {
        co_return co_await anyio::to_thread::run_sync(
            [] { return anyio::from_thread::run_sync([] { return 7; }) * 6; });
    });
    EXPECT_EQ(got, 42);
}
