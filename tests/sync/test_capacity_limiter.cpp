// anyio::capacity_limiter: per-task tokens, FIFO, cancellation, set_total_tokens, errors.
#include <anyio/anyio.hpp>

#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace {

using anyio_test::run_guarded;
using anyio_test::settle;

TEST(CapacityLimiter, BoundsConcurrencyAndCountsTokens) {
    anyio::capacity_limiter limiter(2);
    int inside = 0;
    int max_inside = 0;
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int t = 0; t < 6; ++t) {
                tg.start_soon([&]() -> anyio::task<> {
                    co_await limiter.acquire();
                    EXPECT_TRUE(limiter.held_by_current_task());
                    ++inside;
                    max_inside = std::max(max_inside, inside);
                    EXPECT_LE(
                        static_cast<std::size_t>(inside),
                        limiter.borrowed_tokens());  // handoff: waiters hold tokens before they run
                    co_await anyio::checkpoint();
                    --inside;
                    limiter.release();
                });
            }
            co_return;
        });
    });
    EXPECT_EQ(max_inside, 2);
    EXPECT_EQ(limiter.borrowed_tokens(), 0U);
    EXPECT_EQ(limiter.available_tokens(), 2U);
}

TEST(CapacityLimiter, FifoAndCancelledWaiterTakesNoToken) {
    anyio::capacity_limiter limiter(1);
    std::vector<int> order;
    run_guarded([&]() -> anyio::task<> {
        co_await limiter.acquire();
        anyio::cancel_scope scope1;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int t = 0; t < 4; ++t) {
                tg.start_soon(
                    [&](int id) -> anyio::task<> {
                        if (id == 1) {
                            co_await scope1.run([&]() -> anyio::task<> {
                                co_await limiter.acquire();
                                order.push_back(1);
                                limiter.release();
                            });
                        } else {
                            co_await limiter.acquire();
                            order.push_back(id);
                            co_await anyio::checkpoint();
                            limiter.release();
                        }
                    },
                    t);
                co_await settle();
            }
            scope1.cancel();
            co_await settle();
            EXPECT_EQ(limiter.borrowed_tokens(), 1U);
            EXPECT_EQ(limiter.available_tokens(), 0U);
            limiter.release();
        });
    });
    EXPECT_EQ(order, (std::vector<int>{0, 2, 3}));
    EXPECT_EQ(limiter.borrowed_tokens(), 0U);
}

TEST(CapacityLimiter, RaisingTotalTokensWakesWaiters) {
    anyio::capacity_limiter limiter(1);
    int running = 0;
    run_guarded([&]() -> anyio::task<> {
        co_await limiter.acquire();
        anyio::event done;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int t = 0; t < 3; ++t) {
                tg.start_soon([&]() -> anyio::task<> {
                    co_await limiter.acquire();
                    ++running;
                    co_await done.wait();
                    limiter.release();
                });
            }
            co_await settle();
            EXPECT_EQ(running, 0);
            limiter.set_total_tokens(3);
            co_await settle();
            EXPECT_EQ(running, 2);
            EXPECT_EQ(limiter.borrowed_tokens(), 3U);
            limiter.set_total_tokens(1);  // lowering keeps current holders
            EXPECT_EQ(limiter.borrowed_tokens(), 3U);
            EXPECT_EQ(limiter.available_tokens(), 0U);
            limiter.set_total_tokens(4);
            co_await settle();
            EXPECT_EQ(running, 3);
            done.set();
        });
        limiter.release();
    });
    EXPECT_EQ(running, 3);
    EXPECT_EQ(limiter.borrowed_tokens(), 0U);
    EXPECT_EQ(limiter.available_tokens(), 4U);
}

TEST(CapacityLimiter, TryAcquireAndCheckpoint) {
    anyio::capacity_limiter limiter(1);
    run_guarded([&]() -> anyio::task<> {
        anyio::cancel_scope scope;
        scope.cancel();
        co_await scope.run([&]() -> anyio::task<> { co_await limiter.acquire(); });
        EXPECT_TRUE(scope.cancelled_caught());
        EXPECT_EQ(limiter.borrowed_tokens(), 0U);
        EXPECT_TRUE(limiter.try_acquire());
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                EXPECT_FALSE(limiter.try_acquire());
                co_return;
            });
            co_return;
        });
        limiter.release();
    });
    EXPECT_EQ(limiter.borrowed_tokens(), 0U);
}

TEST(CapacityLimiter, Errors) {
    EXPECT_THROW(anyio::capacity_limiter(0), std::invalid_argument);
    anyio::capacity_limiter limiter(2);
    EXPECT_THROW(limiter.set_total_tokens(0), std::invalid_argument);
    bool other_threw = false;
    run_guarded([&]() -> anyio::task<> {
        EXPECT_THROW(limiter.release(), std::logic_error);
        co_await limiter.acquire();
        bool threw = false;
        try {
            co_await limiter.acquire();
        } catch (const std::logic_error&) {
            threw = true;
        }
        EXPECT_TRUE(threw);
        EXPECT_THROW((void)limiter.try_acquire(), std::logic_error);
        EXPECT_EQ(limiter.borrowed_tokens(), 1U);
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                try {
                    limiter.release();
                } catch (const std::logic_error&) {
                    other_threw = true;
                }
                co_return;
            });
            co_return;
        });
        limiter.release();
    });
    EXPECT_TRUE(other_threw);
    EXPECT_EQ(limiter.borrowed_tokens(), 0U);
}

}  // namespace
