// What lock_guard, semaphore_guard and capacity_limiter_guard have in common, for each of
// them on a primitive with one slot: released at scope end, by an exception, by
// cancellation; moves release once; early release; waiters handed the slot in FIFO order
// when a guard ends; a cancelled waiter gets no guard; try_acquire_guard.
#include <anyio/anyio.hpp>

#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace {

using anyio_test::run_guarded;
using anyio_test::settle;

struct lock_kind {
    using primitive = anyio::lock;
    using guard = anyio::lock_guard;
    static std::unique_ptr<primitive> make() { return std::make_unique<primitive>(); }
    static std::ptrdiff_t free_slots(const primitive& l) { return l.locked() ? 0 : 1; }
};

struct semaphore_kind {
    using primitive = anyio::semaphore;
    using guard = anyio::semaphore_guard;
    static std::unique_ptr<primitive> make() { return std::make_unique<primitive>(1); }
    // A double release shows here as 2.
    static std::ptrdiff_t free_slots(const primitive& s) { return s.value(); }
};

struct limiter_kind {
    using primitive = anyio::capacity_limiter;
    using guard = anyio::capacity_limiter_guard;
    static std::unique_ptr<primitive> make() { return std::make_unique<primitive>(1); }
    static std::ptrdiff_t free_slots(const primitive& l) {
        return static_cast<std::ptrdiff_t>(l.available_tokens());
    }
};

template <class Kind>
class Guard : public ::testing::Test {
protected:
    using guard = typename Kind::guard;
    std::unique_ptr<typename Kind::primitive> owned_ = Kind::make();
    typename Kind::primitive& p = *owned_;
    std::ptrdiff_t free_slots() const { return Kind::free_slots(p); }
};

using Kinds = ::testing::Types<lock_kind, semaphore_kind, limiter_kind>;
TYPED_TEST_SUITE(Guard, Kinds);

TYPED_TEST(Guard, ReleasesAtScopeEnd) {
    run_guarded([&]() -> anyio::task<> {
        {
            typename TestFixture::guard held = co_await this->p.acquire_guard();
            EXPECT_TRUE(held.owns());
            EXPECT_TRUE(static_cast<bool>(held));
            EXPECT_EQ(this->free_slots(), 0);
            co_await anyio::checkpoint();
            EXPECT_EQ(this->free_slots(), 0);
        }
        EXPECT_EQ(this->free_slots(), 1);
    });
    EXPECT_EQ(this->free_slots(), 1);
}

TYPED_TEST(Guard, ReleasesWhenAnExceptionLeavesTheScope) {
    bool caught = false;
    run_guarded([&]() -> anyio::task<> {
        try {
            typename TestFixture::guard held = co_await this->p.acquire_guard();
            co_await anyio::checkpoint();
            throw std::runtime_error("boom");
        } catch (const std::runtime_error&) {
            caught = true;
            EXPECT_EQ(this->free_slots(), 1);
        }
    });
    EXPECT_TRUE(caught);
    EXPECT_EQ(this->free_slots(), 1);
}

TYPED_TEST(Guard, ReleasesWhenCancelledInsideTheScope) {
    bool reached = false;
    run_guarded([&]() -> anyio::task<> {
        anyio::cancel_scope scope;
        co_await scope.run([&]() -> anyio::task<> {
            typename TestFixture::guard held = co_await this->p.acquire_guard();
            scope.cancel();
            co_await anyio::checkpoint();
            reached = true;
        });
        EXPECT_TRUE(scope.cancelled_caught());
        EXPECT_EQ(this->free_slots(), 1);
    });
    EXPECT_FALSE(reached);
}

TYPED_TEST(Guard, AMovedGuardReleasesOnce) {
    run_guarded([&]() -> anyio::task<> {
        typename TestFixture::guard last;
        EXPECT_FALSE(last.owns());
        {
            typename TestFixture::guard first = co_await this->p.acquire_guard();
            typename TestFixture::guard second(std::move(first));
            EXPECT_FALSE(first.owns());  // what a move leaves behind
            EXPECT_TRUE(second.owns());
            last = std::move(second);
            EXPECT_FALSE(second.owns());
        }
        EXPECT_TRUE(last.owns());
        EXPECT_EQ(this->free_slots(), 0);
        last = typename TestFixture::guard();  // assigning over an owning guard releases it
        EXPECT_FALSE(last.owns());
        EXPECT_EQ(this->free_slots(), 1);
        co_return;
    });
    EXPECT_EQ(this->free_slots(), 1);
}

TYPED_TEST(Guard, EarlyReleaseThenTheScopeEndDoesNothing) {
    run_guarded([&]() -> anyio::task<> {
        typename TestFixture::guard held = co_await this->p.acquire_guard();
        held.release();
        EXPECT_FALSE(held.owns());
        EXPECT_EQ(this->free_slots(), 1);
        EXPECT_THROW(held.release(), std::logic_error);  // nothing left to release
        // Someone else takes the slot; the guard's end must not give it back.
        typename TestFixture::guard other = co_await this->p.acquire_guard();
        held = typename TestFixture::guard();
        EXPECT_EQ(this->free_slots(), 0);
    });
    EXPECT_EQ(this->free_slots(), 1);
}

TYPED_TEST(Guard, WaitersAreHandedTheSlotInFifoOrderWhenTheGuardEnds) {
    std::vector<int> order;
    run_guarded([&]() -> anyio::task<> {
        typename TestFixture::guard first = co_await this->p.acquire_guard();
        std::optional<typename TestFixture::guard> held(std::move(first));
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int t = 0; t < 3; ++t) {
                tg.start_soon(
                    [&](int id) -> anyio::task<> {
                        typename TestFixture::guard mine = co_await this->p.acquire_guard();
                        order.push_back(id);
                        co_await anyio::checkpoint();
                    },
                    t);
                co_await settle();  // each waiter queues before the next starts
            }
            EXPECT_TRUE(order.empty());
            held.reset();
            // Handed over, not put back: the first waiter holds it before it runs.
            EXPECT_EQ(this->free_slots(), 0);
        });
    });
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
    EXPECT_EQ(this->free_slots(), 1);
}

TYPED_TEST(Guard, ACancelledWaiterGetsNoGuardAndTakesNothing) {
    bool waiter_got = false;
    run_guarded([&]() -> anyio::task<> {
        typename TestFixture::guard first = co_await this->p.acquire_guard();
        std::optional<typename TestFixture::guard> held(std::move(first));
        anyio::cancel_scope waiter_scope;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await waiter_scope.run([&]() -> anyio::task<> {
                    typename TestFixture::guard mine = co_await this->p.acquire_guard();
                    waiter_got = true;
                });
            });
            co_await settle();
            waiter_scope.cancel();
            co_await settle();
            EXPECT_TRUE(waiter_scope.cancelled_caught());
            held.reset();
            EXPECT_EQ(this->free_slots(), 1);  // nobody was waiting any more
        });
    });
    EXPECT_FALSE(waiter_got);
    EXPECT_EQ(this->free_slots(), 1);
}

TYPED_TEST(Guard, UnlessCancelledYieldsNoGuard) {
    run_guarded([&]() -> anyio::task<> {
        anyio::cancel_scope scope;
        scope.cancel();
        co_await scope.run([&]() -> anyio::task<> {
            std::optional<typename TestFixture::guard> held =
                co_await anyio::unless_cancelled(this->p.acquire_guard());
            EXPECT_FALSE(held.has_value());
        });
        std::optional<typename TestFixture::guard> held =
            co_await anyio::unless_cancelled(this->p.acquire_guard());
        EXPECT_TRUE(held.has_value() && held->owns());
        EXPECT_EQ(this->free_slots(), 0);
    });
    EXPECT_EQ(this->free_slots(), 1);
}

TYPED_TEST(Guard, TryAcquireGuardIsEmptyWhenTheSlotIsTaken) {
    bool other_got = true;
    run_guarded([&]() -> anyio::task<> {
        typename TestFixture::guard held = this->p.try_acquire_guard();
        EXPECT_TRUE(held.owns());
        EXPECT_EQ(this->free_slots(), 0);
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                typename TestFixture::guard mine = this->p.try_acquire_guard();
                other_got = mine.owns();
                co_return;
            });
            co_return;
        });
        EXPECT_EQ(this->free_slots(), 0);
    });
    EXPECT_FALSE(other_got);
    EXPECT_EQ(this->free_slots(), 1);
}

}  // namespace
