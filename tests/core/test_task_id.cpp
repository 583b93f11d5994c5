// anyio::task_id: one identity per task, the same across the task's coroutines, none
// outside a task.
#include <anyio/anyio.hpp>

#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <unordered_set>

namespace {

using anyio_test::run_guarded;

anyio::task<anyio::task_id> id_in_a_nested_coroutine() {
    co_await anyio::checkpoint();
    co_return anyio::task_id::current();
}

TEST(TaskId, OnePerTaskAndNoneOutside) {
    EXPECT_FALSE(anyio::task_id::current());
    EXPECT_TRUE(anyio::task_id() == anyio::task_id::current());
    std::unordered_set<anyio::task_id> children;
    run_guarded([&]() -> anyio::task<> {
        const anyio::task_id mine = anyio::task_id::current();
        EXPECT_TRUE(mine);
        const anyio::task_id nested = co_await id_in_a_nested_coroutine();
        EXPECT_TRUE(nested == mine);  // a coroutine awaited by the task is the same task
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int i = 0; i < 3; ++i) {
                tg.start_soon([&]() -> anyio::task<> {
                    children.insert(anyio::task_id::current());
                    co_await anyio::sleep_forever();
                });
            }
            co_await anyio_test::settle();
            tg.cancel_scope().cancel();
        });
        EXPECT_EQ(children.count(mine), 0U);
    });
    EXPECT_EQ(children.size(), 3U);  // three running at once: three identities
}

}  // namespace
