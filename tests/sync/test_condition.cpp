// anyio::condition: wait/notify/notify_all, the lock re-acquired also after cancellation.
#include <anyio/anyio.hpp>

#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace {

using anyio_test::run_guarded;
using anyio_test::settle;

TEST(Condition, NotifyWakesOneWaiterAtATimeInFifoOrder) {
    anyio::condition cond;
    std::vector<int> woke;
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int t = 0; t < 3; ++t) {
                tg.start_soon(
                    [&](int id) -> anyio::task<> {
                        co_await cond.acquire();
                        co_await cond.wait();
                        EXPECT_TRUE(cond.underlying_lock().owned_by_current_task());
                        woke.push_back(id);
                        cond.release();
                    },
                    t);
                co_await settle();
            }
            EXPECT_FALSE(cond.locked());  // every waiter released the lock
            co_await cond.acquire();
            cond.notify();
            co_await settle();
            EXPECT_TRUE(woke.empty());  // the woken waiter needs the lock we hold
            cond.release();
            co_await settle();
            EXPECT_EQ(woke, (std::vector<int>{0}));
            co_await cond.acquire();
            cond.notify(2);
            cond.release();
            co_await settle();
        });
    });
    EXPECT_EQ(woke, (std::vector<int>{0, 1, 2}));
    EXPECT_FALSE(cond.locked());
}

TEST(Condition, NotifyAllWakesEveryWaiter) {
    anyio::lock l;
    anyio::condition cond(l);
    int woke = 0;
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int t = 0; t < 4; ++t) {
                tg.start_soon([&]() -> anyio::task<> {
                    co_await cond.with([&]() -> anyio::task<> {
                        co_await cond.wait();
                        EXPECT_TRUE(l.owned_by_current_task());
                        ++woke;
                    });
                });
            }
            co_await settle();
            co_await l.acquire();
            cond.notify_all();
            l.release();
        });
    });
    EXPECT_EQ(woke, 4);
    EXPECT_FALSE(l.locked());
}

TEST(Condition, CancelledWaitReacquiresTheLockAndConsumesNoNotification) {
    anyio::condition cond;
    bool held_after_cancel = false;
    bool a_cancelled = false;
    bool b_woke = false;
    run_guarded([&]() -> anyio::task<> {
        anyio::cancel_scope a_scope;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await cond.acquire();
                try {
                    co_await a_scope.run([&]() -> anyio::task<> {
                        try {
                            co_await cond.wait();
                        } catch (const anyio::cancelled&) {
                            held_after_cancel = cond.underlying_lock().owned_by_current_task();
                            throw;
                        }
                    });
                } catch (...) {
                }
                a_cancelled = a_scope.cancelled_caught();
                cond.release();
            });
            co_await settle();
            tg.start_soon([&]() -> anyio::task<> {
                co_await cond.acquire();
                co_await cond.wait();
                b_woke = true;
                cond.release();
            });
            co_await settle();
            // Hold the lock while A is cancelled: its re-acquire must wait for us.
            co_await cond.acquire();
            a_scope.cancel();
            co_await settle();
            EXPECT_FALSE(a_cancelled);
            cond.notify();  // must reach B: A withdrew
            cond.release();
            co_await settle();
        });
    });
    EXPECT_TRUE(held_after_cancel);
    EXPECT_TRUE(a_cancelled);
    EXPECT_TRUE(b_woke);
    EXPECT_FALSE(cond.locked());
}

TEST(Condition, WaitInACancelledScopeKeepsTheLock) {
    anyio::condition cond;
    run_guarded([&]() -> anyio::task<> {
        co_await cond.acquire();
        anyio::cancel_scope scope;
        scope.cancel();
        co_await scope.run([&]() -> anyio::task<> { co_await cond.wait(); });
        EXPECT_TRUE(scope.cancelled_caught());
        EXPECT_TRUE(cond.underlying_lock().owned_by_current_task());
        cond.release();
    });
    EXPECT_FALSE(cond.locked());
}

TEST(Condition, WaitAndNotifyWithoutTheLockThrow) {
    anyio::condition cond;
    run_guarded([&]() -> anyio::task<> {
        EXPECT_THROW(cond.notify(), std::logic_error);
        EXPECT_THROW(cond.notify_all(), std::logic_error);
        bool threw = false;
        try {
            co_await cond.wait();
        } catch (const std::logic_error&) {
            threw = true;
        }
        EXPECT_TRUE(threw);
        EXPECT_TRUE(cond.try_acquire());
        cond.notify();  // nobody waits: fine
        cond.release();
    });
}

}  // namespace
