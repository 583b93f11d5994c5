// capacity_limiter tokens borrowed on behalf of an object rather than the current task
// (AnyIO's acquire_on_behalf_of / _nowait / release_on_behalf_of), plain and as guards.
#include <anyio/anyio.hpp>

#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace {

using anyio_test::run_guarded;
using anyio_test::settle;

struct job {
    int id = 0;
};

bool borrows(const anyio::capacity_limiter& limiter, const void* borrower) {
    const std::vector<const void*> borrowers = limiter.statistics().borrowers;
    return std::find(borrowers.begin(), borrowers.end(), borrower) != borrowers.end();
}

// Three jobs to borrow for; each test makes its own limiter.
class LimiterOnBehalfOf : public ::testing::Test {
protected:
    job a{1};
    job b{2};
    job c{3};
};

TEST_F(LimiterOnBehalfOf, TheObjectHoldsTheTokenNotTheTask) {
    anyio::capacity_limiter limiter(3);
    run_guarded([&]() -> anyio::task<> {
        EXPECT_TRUE(limiter.try_acquire_on_behalf_of(&a));
        co_await limiter.acquire_on_behalf_of(&b);
        EXPECT_FALSE(limiter.held_by_current_task());
        EXPECT_EQ(limiter.borrowed_tokens(), 2U);
        EXPECT_TRUE(borrows(limiter, &a));
        EXPECT_TRUE(borrows(limiter, &b));
        // The task borrows one of its own beside them; releasing it leaves theirs.
        co_await limiter.acquire();
        EXPECT_TRUE(limiter.held_by_current_task());
        EXPECT_TRUE(borrows(limiter, anyio::task_id::current().address()));
        limiter.release();
        EXPECT_EQ(limiter.borrowed_tokens(), 2U);
        limiter.release_on_behalf_of(&a);
        EXPECT_FALSE(borrows(limiter, &a));
        EXPECT_TRUE(borrows(limiter, &b));
    });
    EXPECT_EQ(limiter.borrowed_tokens(), 1U);
}

TEST_F(LimiterOnBehalfOf, AnyTaskMayReleaseForTheBorrowerAndTheWaiterGetsIt) {
    anyio::capacity_limiter limiter(1);
    bool second_got = false;
    run_guarded([&]() -> anyio::task<> {
        co_await limiter.acquire_on_behalf_of(&a);
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await limiter.acquire_on_behalf_of(&b);
                second_got = true;
            });
            co_await settle();
            EXPECT_FALSE(second_got);
            EXPECT_EQ(limiter.statistics().tasks_waiting, 1U);
            tg.start_soon([&]() -> anyio::task<> {
                limiter.release_on_behalf_of(&a);  // not the task that acquired it
                co_return;
            });
            co_await settle();
        });
        EXPECT_TRUE(second_got);
        EXPECT_FALSE(borrows(limiter, &a));
        EXPECT_TRUE(borrows(limiter, &b));
        limiter.release_on_behalf_of(&b);
    });
    EXPECT_EQ(limiter.borrowed_tokens(), 0U);
}

TEST_F(LimiterOnBehalfOf, Errors) {
    anyio::capacity_limiter limiter(1);
    bool second_wait_threw = false;
    run_guarded([&]() -> anyio::task<> {
        EXPECT_THROW((void)limiter.acquire_on_behalf_of(nullptr), std::invalid_argument);
        EXPECT_THROW((void)limiter.try_acquire_on_behalf_of(nullptr), std::invalid_argument);
        EXPECT_THROW(limiter.release_on_behalf_of(&a), std::logic_error);  // holds none
        EXPECT_TRUE(limiter.try_acquire_on_behalf_of(&a));
        // A borrower holds one token at most (AnyIO's RuntimeError).
        EXPECT_THROW((void)limiter.acquire_on_behalf_of(&a), std::logic_error);
        EXPECT_THROW((void)limiter.try_acquire_on_behalf_of(&a), std::logic_error);
        EXPECT_THROW((void)limiter.acquire_guard_on_behalf_of(&a), std::logic_error);
        EXPECT_THROW((void)limiter.try_acquire_guard_on_behalf_of(&a), std::logic_error);
        // The task is not the borrower: release() has nothing of its own to give back.
        EXPECT_THROW(limiter.release(), std::logic_error);
        EXPECT_EQ(limiter.borrowed_tokens(), 1U);
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> { co_await limiter.acquire_on_behalf_of(&b); });
            co_await settle();
            // A second wait for the same borrower would be granted a second token.
            tg.start_soon([&]() -> anyio::task<> {
                try {
                    co_await limiter.acquire_on_behalf_of(&b);
                } catch (const std::logic_error&) {
                    second_wait_threw = true;
                }
            });
            co_await settle();
            EXPECT_EQ(limiter.statistics().tasks_waiting, 1U);
            limiter.release_on_behalf_of(&a);
        });
        EXPECT_TRUE(borrows(limiter, &b));
        EXPECT_FALSE(limiter.try_acquire_on_behalf_of(&a));  // no token free: false
        limiter.release_on_behalf_of(&b);
    });
    EXPECT_TRUE(second_wait_threw);
    EXPECT_EQ(limiter.borrowed_tokens(), 0U);
}

TEST_F(LimiterOnBehalfOf, ACancelledWaitBorrowsNothing) {
    anyio::capacity_limiter limiter(1);
    run_guarded([&]() -> anyio::task<> {
        co_await limiter.acquire_on_behalf_of(&a);
        anyio::cancel_scope scope;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await scope.run(
                    [&]() -> anyio::task<> { co_await limiter.acquire_on_behalf_of(&b); });
            });
            co_await settle();
            scope.cancel();
            co_await settle();
        });
        EXPECT_TRUE(scope.cancelled_caught());
        EXPECT_FALSE(borrows(limiter, &b));
        EXPECT_EQ(limiter.statistics().tasks_waiting, 0U);
        limiter.release_on_behalf_of(&a);
        // The cancelled borrower may try again.
        EXPECT_TRUE(limiter.try_acquire_on_behalf_of(&b));
        limiter.release_on_behalf_of(&b);
    });
    EXPECT_EQ(limiter.borrowed_tokens(), 0U);
}

TEST_F(LimiterOnBehalfOf, AGuardGivesBackItsBorrowersTokenInWhicheverTaskItEnds) {
    anyio::capacity_limiter limiter(2);
    bool released_in_other_task = false;
    run_guarded([&]() -> anyio::task<> {
        anyio::capacity_limiter_guard for_a = co_await limiter.acquire_guard_on_behalf_of(&a);
        anyio::capacity_limiter_guard for_b = limiter.try_acquire_guard_on_behalf_of(&b);
        EXPECT_TRUE(for_a.owns());
        EXPECT_TRUE(for_b.owns());
        EXPECT_FALSE(limiter.try_acquire_guard_on_behalf_of(&c).owns());  // both tokens out
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon(
                [&](anyio::capacity_limiter_guard moved) -> anyio::task<> {
                    moved.release();
                    released_in_other_task = !borrows(limiter, &a);
                    co_return;
                },
                std::move(for_a));
            co_return;
        });
        // b's token released by hand: its guard's end must not touch a's new token.
        limiter.release_on_behalf_of(&b);
        co_await limiter.acquire_on_behalf_of(&a);
        for_b = anyio::capacity_limiter_guard();
        EXPECT_TRUE(borrows(limiter, &a));
        EXPECT_EQ(limiter.borrowed_tokens(), 1U);
        limiter.release_on_behalf_of(&a);
    });
    EXPECT_TRUE(released_in_other_task);
    EXPECT_EQ(limiter.borrowed_tokens(), 0U);
}

}  // namespace
