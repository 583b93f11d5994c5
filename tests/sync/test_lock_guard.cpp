// anyio::lock_guard's task rule: the guard belongs to the task that acquired the lock.
// (What every guard does is in test_guards.cpp.)
#include <anyio/anyio.hpp>

#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <utility>

namespace {

using anyio_test::run_guarded;
using anyio_test::settle;

anyio::task<anyio::lock_guard> take(anyio::lock& l) {
    anyio::lock_guard held = co_await l.acquire_guard();
    co_return held;
}

TEST(LockGuard, AGuardReturnedByACoroutineOfTheSameTaskStillReleases) {
    anyio::lock l;
    run_guarded([&]() -> anyio::task<> {
        {
            anyio::lock_guard held = co_await take(l);
            EXPECT_TRUE(held.owns());
            EXPECT_TRUE(l.owned_by_current_task());
        }
        EXPECT_FALSE(l.locked());
    });
}

TEST(LockGuard, ReleaseInAnotherTaskThrowsAndTheGuardKeepsTheLock) {
    anyio::lock l;
    bool threw = false;
    bool still_owned = false;
    run_guarded([&]() -> anyio::task<> {
        anyio::lock_guard held = co_await l.acquire_guard();
        std::optional<anyio::lock_guard> back;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon(
                [&](anyio::lock_guard moved) -> anyio::task<> {
                    try {
                        moved.release();
                    } catch (const std::logic_error&) {
                        threw = true;
                    }
                    still_owned = moved.owns() && l.locked();
                    back.emplace(std::move(moved));  // home, so it ends in our task
                    co_return;
                },
                std::move(held));
            co_return;
        });
        EXPECT_TRUE(back.has_value());
        EXPECT_TRUE(l.owned_by_current_task());
        back.reset();
        EXPECT_FALSE(l.locked());
    });
    EXPECT_TRUE(threw);
    EXPECT_TRUE(still_owned);
    EXPECT_FALSE(l.locked());
}

TEST(LockGuardDeathTest, EndingInAnotherTaskTerminates) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(
        {
            anyio::lock l;
            run_guarded([&]() -> anyio::task<> {
                anyio::lock_guard held = co_await l.acquire_guard();
                co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                    tg.start_soon([](anyio::lock_guard) -> anyio::task<> { co_return; },
                                  std::move(held));
                    co_return;
                });
            });
        },
        "lock_guard destroyed outside the task that acquired the lock");
}

TEST(LockGuard, AfterAReleaseByHandTheGuardLeavesTheLockAlone) {
    anyio::lock l;
    bool waiter_got = false;
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            {
                anyio::lock_guard held = co_await l.acquire_guard();
                tg.start_soon([&]() -> anyio::task<> {
                    co_await l.acquire();
                    waiter_got = true;
                    co_await settle();
                    l.release();
                });
                co_await settle();
                l.release();  // handed to the waiter
                EXPECT_TRUE(held.owns());
                EXPECT_THROW(held.release(), std::logic_error);
            }
            // The guard ended without taking the lock from the waiter.
            EXPECT_TRUE(l.locked());
            EXPECT_FALSE(l.owned_by_current_task());
        });
    });
    EXPECT_TRUE(waiter_got);
    EXPECT_FALSE(l.locked());
}

TEST(LockGuard, HoldsTheLockAcrossAConditionWait) {
    anyio::condition cond;
    bool woke = false;
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                anyio::lock_guard held = co_await cond.acquire_guard();
                co_await cond.wait();
                woke = true;
                EXPECT_TRUE(cond.underlying_lock().owned_by_current_task());
            });
            co_await settle();
            EXPECT_FALSE(cond.locked());  // released inside wait()
            anyio::lock_guard mine = cond.try_acquire_guard();
            EXPECT_TRUE(mine.owns());
            cond.notify();
            mine.release();
        });
    });
    EXPECT_TRUE(woke);
    EXPECT_FALSE(cond.locked());
}

}  // namespace
