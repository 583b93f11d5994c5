// statistics() of lock, semaphore, capacity_limiter, condition and event (AnyIO's
// *Statistics): each field follows tasks as they start waiting, are cancelled out of the
// wait and are served.
#include <anyio/anyio.hpp>

#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

namespace {

using anyio_test::run_guarded;
using anyio_test::settle;

// Parks `plain` waiters, each awaiting wait(), and one more in `scope`, which it then
// cancels: tasks_waiting() must follow both steps.
template <class Wait, class Count>
anyio::task<> park_and_cancel_one(anyio::task_group& tg, anyio::cancel_scope& scope,
                                  std::size_t plain, Wait wait, Count tasks_waiting) {
    tg.start_soon([&scope, wait]() -> anyio::task<> { co_await scope.run(wait); });
    for (std::size_t i = 0; i < plain; ++i)
        tg.start_soon(wait);
    co_await settle();
    EXPECT_EQ(tasks_waiting(), plain + 1);
    scope.cancel();
    co_await settle();
    EXPECT_EQ(tasks_waiting(), plain);
}

TEST(SyncStatistics, Lock) {
    anyio::lock l;
    std::vector<anyio::task_id> waiter_ids;
    run_guarded([&]() -> anyio::task<> {
        anyio::lock_statistics stats = l.statistics();
        EXPECT_FALSE(stats.locked);
        EXPECT_FALSE(stats.owner);
        EXPECT_EQ(stats.tasks_waiting, 0U);

        co_await l.acquire();
        stats = l.statistics();
        EXPECT_TRUE(stats.locked);
        EXPECT_TRUE(stats.owner == anyio::task_id::current());
        anyio::cancel_scope first_waiter;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await first_waiter.run([&]() -> anyio::task<> { co_await l.acquire(); });
            });
            tg.start_soon([&]() -> anyio::task<> {
                waiter_ids.push_back(anyio::task_id::current());
                anyio::lock_guard held = co_await l.acquire_guard();
                co_await settle();
            });
            co_await settle();
            EXPECT_EQ(l.statistics().tasks_waiting, 2U);
            first_waiter.cancel();
            co_await settle();
            EXPECT_EQ(l.statistics().tasks_waiting, 1U);
            l.release();
            // Handed to the waiter before it runs: it owns the lock, nobody waits.
            stats = l.statistics();
            EXPECT_TRUE(stats.locked);
            EXPECT_EQ(stats.tasks_waiting, 0U);
            EXPECT_EQ(waiter_ids.size(), 1U);
            EXPECT_TRUE(!waiter_ids.empty() && stats.owner == waiter_ids.front());
            EXPECT_FALSE(stats.owner == anyio::task_id::current());
        });
        stats = l.statistics();
        EXPECT_FALSE(stats.locked);
        EXPECT_FALSE(stats.owner);
    });
}

TEST(SyncStatistics, Semaphore) {
    anyio::semaphore sem(0);
    run_guarded([&]() -> anyio::task<> {
        EXPECT_EQ(sem.statistics().tasks_waiting, 0U);
        anyio::cancel_scope one;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            auto wait = [&]() -> anyio::task<> { co_await sem.acquire(); };
            auto count = [&] { return sem.statistics().tasks_waiting; };
            co_await park_and_cancel_one(tg, one, 2, wait, count);
            sem.release();
            EXPECT_EQ(sem.statistics().tasks_waiting, 1U);
            sem.release();
            EXPECT_EQ(sem.statistics().tasks_waiting, 0U);
        });
    });
    EXPECT_EQ(sem.value(), 0);
}

TEST(SyncStatistics, CapacityLimiter) {
    anyio::capacity_limiter limiter(2);
    int job = 0;
    run_guarded([&]() -> anyio::task<> {
        anyio::capacity_limiter_statistics stats = limiter.statistics();
        EXPECT_EQ(stats.borrowed_tokens, 0U);
        EXPECT_EQ(stats.total_tokens, 2U);
        EXPECT_TRUE(stats.borrowers.empty());
        EXPECT_EQ(stats.tasks_waiting, 0U);

        co_await limiter.acquire();
        co_await limiter.acquire_on_behalf_of(&job);
        stats = limiter.statistics();
        EXPECT_EQ(stats.borrowed_tokens, 2U);
        const std::vector<const void*> expected = {anyio::task_id::current().address(), &job};
        EXPECT_EQ(stats.borrowers, expected);
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int i = 0; i < 2; ++i) {
                tg.start_soon([&]() -> anyio::task<> {
                    anyio::capacity_limiter_guard held = co_await limiter.acquire_guard();
                    co_await settle();
                });
            }
            co_await settle();
            EXPECT_EQ(limiter.statistics().tasks_waiting, 2U);
            limiter.set_total_tokens(3);
            stats = limiter.statistics();
            EXPECT_EQ(stats.total_tokens, 3U);
            EXPECT_EQ(stats.borrowed_tokens, 3U);
            EXPECT_EQ(stats.tasks_waiting, 1U);
            limiter.release_on_behalf_of(&job);
            stats = limiter.statistics();
            EXPECT_EQ(stats.tasks_waiting, 0U);
            EXPECT_EQ(stats.borrowers.size(), 3U);
        });
        limiter.release();
        EXPECT_TRUE(limiter.statistics().borrowers.empty());
    });
}

TEST(SyncStatistics, Condition) {
    anyio::condition cond;
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int i = 0; i < 2; ++i) {
                tg.start_soon([&]() -> anyio::task<> {
                    anyio::lock_guard held = co_await cond.acquire_guard();
                    co_await cond.wait();
                });
            }
            co_await settle();
            anyio::condition_statistics stats = cond.statistics();
            EXPECT_EQ(stats.tasks_waiting, 2U);
            EXPECT_FALSE(stats.lock_statistics.locked);
            anyio::lock_guard mine = co_await cond.acquire_guard();
            cond.notify();
            co_await settle();
            // The notified waiter left the condition and now waits for the lock.
            stats = cond.statistics();
            EXPECT_EQ(stats.tasks_waiting, 1U);
            EXPECT_TRUE(stats.lock_statistics.locked);
            EXPECT_TRUE(stats.lock_statistics.owner == anyio::task_id::current());
            EXPECT_EQ(stats.lock_statistics.tasks_waiting, 1U);
            cond.notify_all();
            mine.release();
        });
        EXPECT_EQ(cond.statistics().tasks_waiting, 0U);
        EXPECT_FALSE(cond.statistics().lock_statistics.locked);
    });
}

TEST(SyncStatistics, Event) {
    anyio::event ev;
    run_guarded([&]() -> anyio::task<> {
        anyio::cancel_scope one;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            auto wait = [&]() -> anyio::task<> { co_await ev.wait(); };
            auto count = [&] { return ev.statistics().tasks_waiting; };
            co_await park_and_cancel_one(tg, one, 1, wait, count);
            ev.set();
            EXPECT_EQ(ev.statistics().tasks_waiting, 0U);
        });
    });
}

}  // namespace
