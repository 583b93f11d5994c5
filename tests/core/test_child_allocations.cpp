// A task group child is one heap block until it runs: its task state, callable and
// arguments together; the body's coroutine frame exists only while the body runs. This
// binary counts operator new to hold that line (a wrapper coroutine per child cost
// 60% more memory in the spawn_join benchmark).

#include <anyio/anyio.hpp>

#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <new>
#include <stdexcept>

namespace {
long allocations = 0;  // this test's loop is single-threaded
}  // namespace

void* operator new(std::size_t size) {
    ++allocations;
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}

namespace {

using anyio_test::run_guarded;

anyio::task<> count_one(long* counter) {
    ++*counter;
    co_return;
}

TEST(ChildAllocations, AChildWaitingToStartIsOneHeapBlock) {
    constexpr long children = 1000;
    long counter = 0;
    long spawned_with = -1;
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            const long before = allocations;
            for (long i = 0; i < children; ++i)
                tg.start_soon(count_one, &counter);
            spawned_with = allocations - before;
            EXPECT_EQ(counter, 0) << "children start only when the loop runs them";
            co_return;
        });
    });
    EXPECT_EQ(counter, children);
    EXPECT_EQ(spawned_with, children);
}

TEST(ChildAllocations, ACallableThatThrowsInsteadOfReturningATaskFailsTheGroup) {
    // Not a coroutine: it throws when called, which happens when the child first runs.
    const auto throws = []() -> anyio::task<> { throw std::runtime_error("no task for you"); };
    bool other_ran = false;
    bool reported = false;
    run_guarded([&]() -> anyio::task<> {
        try {
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon([&]() -> anyio::task<> {
                    other_ran = true;
                    co_return;
                });
                tg.start_soon([throws] { return throws(); });
                co_return;
            });
        } catch (const anyio::exception_group& group) {
            reported = group.size() == 1;
        }
    });
    EXPECT_TRUE(other_ran);
    EXPECT_TRUE(reported);
}

}  // namespace
