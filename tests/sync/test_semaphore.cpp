// anyio::semaphore: counting, FIFO handoff, cancellation, try_acquire, errors.
#include <anyio/anyio.hpp>

#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <utility>
#include <vector>

namespace {

using anyio_test::run_guarded;
using anyio_test::settle;

TEST(Semaphore, BoundsConcurrency) {
    anyio::semaphore sem(2);
    int inside = 0;
    int max_inside = 0;
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int t = 0; t < 6; ++t) {
                tg.start_soon([&]() -> anyio::task<> {
                    co_await sem.acquire();
                    ++inside;
                    max_inside = std::max(max_inside, inside);
                    co_await anyio::checkpoint();
                    co_await anyio::checkpoint();
                    --inside;
                    sem.release();
                });
            }
            co_return;
        });
    });
    EXPECT_EQ(max_inside, 2);
    EXPECT_EQ(sem.value(), 2);
}

TEST(Semaphore, FifoAndCancelledWaiterConsumesNothing) {
    anyio::semaphore sem(0);
    std::vector<int> order;
    run_guarded([&]() -> anyio::task<> {
        anyio::cancel_scope scope1;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int t = 0; t < 4; ++t) {
                tg.start_soon(
                    [&](int id) -> anyio::task<> {
                        if (id == 1) {
                            co_await scope1.run([&]() -> anyio::task<> {
                                co_await sem.acquire();
                                order.push_back(1);
                            });
                        } else {
                            co_await sem.acquire();
                            order.push_back(id);
                        }
                    },
                    t);
                co_await settle();
            }
            scope1.cancel();
            co_await settle();
            EXPECT_EQ(sem.value(), 0);
            sem.release();
            sem.release();
            EXPECT_EQ(sem.value(), 0);  // handed to waiters directly
            co_await settle();
            sem.release();
            co_await settle();
            sem.release();  // nobody waits: counts up
            EXPECT_EQ(sem.value(), 1);
        });
    });
    EXPECT_EQ(order, (std::vector<int>{0, 2, 3}));
}

TEST(Semaphore, AcquireIsACheckpoint) {
    anyio::semaphore sem(1);
    run_guarded([&]() -> anyio::task<> {
        anyio::cancel_scope scope;
        scope.cancel();
        co_await scope.run([&]() -> anyio::task<> { co_await sem.acquire(); });
        EXPECT_TRUE(scope.cancelled_caught());
    });
    EXPECT_EQ(sem.value(), 1);
}

TEST(Semaphore, TryAcquire) {
    anyio::semaphore sem(1);
    run_guarded([&]() -> anyio::task<> {
        EXPECT_TRUE(sem.try_acquire());
        EXPECT_EQ(sem.value(), 0);
        EXPECT_FALSE(sem.try_acquire());
        sem.release();
        EXPECT_EQ(sem.value(), 1);
        co_return;
    });
}

TEST(Semaphore, Errors) {
    EXPECT_THROW(anyio::semaphore(-1), std::invalid_argument);
    EXPECT_THROW(anyio::semaphore(3, 2), std::invalid_argument);
    EXPECT_THROW(anyio::semaphore(0, 0), std::invalid_argument);
    anyio::semaphore sem(1, 2);
    EXPECT_EQ(sem.max_value(), 2);
    run_guarded([&]() -> anyio::task<> {
        sem.release();
        EXPECT_EQ(sem.value(), 2);
        EXPECT_THROW(sem.release(), std::logic_error);
        EXPECT_EQ(sem.value(), 2);
        co_await sem.acquire();
        EXPECT_EQ(sem.value(), 1);
    });
}

// A token is nobody's: its guard may end in another task. (The rest of what guards do is
// in test_guards.cpp.)
TEST(Semaphore, AGuardMovedToAnotherTaskReleasesThere) {
    anyio::semaphore sem(1);
    bool released_there = false;
    run_guarded([&]() -> anyio::task<> {
        anyio::semaphore_guard held = co_await sem.acquire_guard();
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon(
                [&](anyio::semaphore_guard moved) -> anyio::task<> {
                    EXPECT_TRUE(moved.owns());
                    moved.release();
                    released_there = sem.value() == 1;
                    co_return;
                },
                std::move(held));
            co_return;
        });
        EXPECT_FALSE(held.owns());
    });
    EXPECT_TRUE(released_there);
    EXPECT_EQ(sem.value(), 1);
}

TEST(Semaphore, AGuardEndingAtMaxValueDropsItsTokenInsteadOfThrowing) {
    anyio::semaphore sem(1, 1);
    run_guarded([&]() -> anyio::task<> {
        {
            anyio::semaphore_guard held = co_await sem.acquire_guard();
            sem.release();  // a token given back that nobody took: the count is at max
            EXPECT_EQ(sem.value(), 1);
            EXPECT_THROW(held.release(), std::logic_error);  // as sem.release() would
            EXPECT_TRUE(held.owns());
        }
        EXPECT_EQ(sem.value(), 1);
    });
}

}  // namespace
