// anyio::lock: mutual exclusion, FIFO handoff, cancellation, try_acquire, with().
#include <anyio/anyio.hpp>

#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace {

using anyio_test::run_guarded;
using anyio_test::settle;

// Lets every ready task run until it blocks (a few rounds of schedule points).
TEST(Lock, MutualExclusionAcrossCheckpoints) {
    anyio::lock l;
    int inside = 0;
    int max_inside = 0;
    int entries = 0;
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int t = 0; t < 5; ++t) {
                tg.start_soon([&]() -> anyio::task<> {
                    for (int i = 0; i < 3; ++i) {
                        co_await l.acquire();
                        ++inside;
                        ++entries;
                        max_inside = std::max(max_inside, inside);
                        co_await anyio::checkpoint();
                        co_await anyio::checkpoint();
                        --inside;
                        l.release();
                        co_await anyio::checkpoint();
                    }
                });
            }
            co_return;
        });
    });
    EXPECT_EQ(max_inside, 1);
    EXPECT_EQ(entries, 15);
    EXPECT_FALSE(l.locked());
}

TEST(Lock, WaitersGetTheLockInFifoOrder) {
    anyio::lock l;
    std::vector<int> order;
    run_guarded([&]() -> anyio::task<> {
        co_await l.acquire();
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int t = 0; t < 5; ++t) {
                tg.start_soon(
                    [&](int id) -> anyio::task<> {
                        co_await l.acquire();
                        order.push_back(id);
                        co_await anyio::checkpoint();
                        l.release();
                    },
                    t);
                co_await settle();  // each waiter queues before the next starts
            }
            EXPECT_TRUE(order.empty());
            l.release();
        });
    });
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
    EXPECT_FALSE(l.locked());
}

TEST(Lock, ReleaseHandsTheLockToTheWaiterNotToABarger) {
    anyio::lock l;
    std::vector<int> order;
    run_guarded([&]() -> anyio::task<> {
        co_await l.acquire();
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await l.acquire();
                order.push_back(1);
                l.release();
            });
            co_await settle();
            l.release();
            // The waiter owns the lock now, before it even ran.
            EXPECT_TRUE(l.locked());
            EXPECT_FALSE(l.try_acquire());
            co_await l.acquire();
            order.push_back(2);
            l.release();
        });
    });
    EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(Lock, CancelledWaiterNeverTakesTheLock) {
    anyio::lock l;
    bool a_got = false;
    bool b_got = false;
    bool a_cancelled = false;
    run_guarded([&]() -> anyio::task<> {
        co_await l.acquire();
        anyio::cancel_scope a_scope;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await a_scope.run([&]() -> anyio::task<> {
                    co_await l.acquire();
                    a_got = true;
                    l.release();
                });
                a_cancelled = a_scope.cancelled_caught();
            });
            co_await settle();
            tg.start_soon([&]() -> anyio::task<> {
                co_await l.acquire();
                b_got = true;
                l.release();
            });
            co_await settle();
            a_scope.cancel();
            co_await settle();
            EXPECT_TRUE(a_cancelled);
            EXPECT_TRUE(l.locked());  // still ours
            l.release();
        });
    });
    EXPECT_FALSE(a_got);
    EXPECT_TRUE(b_got);
    EXPECT_FALSE(l.locked());
}

TEST(Lock, AcquireIsACheckpointEvenWhenFree) {
    anyio::lock l;
    bool got = false;
    run_guarded([&]() -> anyio::task<> {
        anyio::cancel_scope scope;
        scope.cancel();
        co_await scope.run([&]() -> anyio::task<> {
            co_await l.acquire();
            got = true;
        });
        EXPECT_TRUE(scope.cancelled_caught());
    });
    EXPECT_FALSE(got);
    EXPECT_FALSE(l.locked());
}

TEST(Lock, UnlessCancelledReportsCancellation) {
    anyio::lock l;
    run_guarded([&]() -> anyio::task<> {
        anyio::cancel_scope scope;
        scope.cancel();
        co_await scope.run([&]() -> anyio::task<> {
            const bool ok = co_await anyio::unless_cancelled(l.acquire());
            EXPECT_FALSE(ok);
        });
    });
    EXPECT_FALSE(l.locked());
}

TEST(Lock, TryAcquire) {
    anyio::lock l;
    run_guarded([&]() -> anyio::task<> {
        EXPECT_TRUE(l.try_acquire());
        EXPECT_TRUE(l.locked());
        EXPECT_FALSE(l.try_acquire());
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                EXPECT_FALSE(l.try_acquire());
                co_return;
            });
            co_return;
        });
        l.release();
        EXPECT_FALSE(l.locked());
        EXPECT_TRUE(l.try_acquire());
        l.release();
    });
}

TEST(Lock, ReleasingALockNotHeldThrows) {
    anyio::lock l;
    bool other_threw = false;
    run_guarded([&]() -> anyio::task<> {
        EXPECT_THROW(l.release(), std::logic_error);
        co_await l.acquire();
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                try {
                    l.release();
                } catch (const std::logic_error&) {
                    other_threw = true;
                }
                co_return;
            });
            co_return;
        });
        EXPECT_TRUE(l.locked());
        l.release();
    });
    EXPECT_TRUE(other_threw);
    EXPECT_FALSE(l.locked());
}

TEST(Lock, WithHoldsTheLockAndReleasesIt) {
    anyio::lock l;
    int result = 0;
    bool caught = false;
    run_guarded([&]() -> anyio::task<> {
        result = co_await l.with([&]() -> anyio::task<int> {
            EXPECT_TRUE(l.locked());
            co_await anyio::checkpoint();
            co_return 42;
        });
        EXPECT_FALSE(l.locked());
        try {
            co_await l.with([&]() -> anyio::task<> {
                co_await anyio::checkpoint();
                throw std::runtime_error("boom");
            });
        } catch (const std::runtime_error&) {
            caught = true;
        }
        EXPECT_FALSE(l.locked());
        // And with cancellation inside the body.
        anyio::cancel_scope scope;
        co_await scope.run([&]() -> anyio::task<> {
            co_await l.with([&]() -> anyio::task<> {
                scope.cancel();
                co_await anyio::checkpoint();
            });
        });
        EXPECT_TRUE(scope.cancelled_caught());
        EXPECT_FALSE(l.locked());
    });
    EXPECT_EQ(result, 42);
    EXPECT_TRUE(caught);
}

}  // namespace
