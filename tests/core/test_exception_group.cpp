// exception_group's helpers: except*-style handling, split, leaves, what().

#include <anyio/anyio.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace {

using namespace std::chrono_literals;

std::exception_ptr error_of(const auto& exception) {
    return std::make_exception_ptr(exception);
}

// A group shaped as task groups make them: a child timed out, and a nested task group
// inside another child failed with a timeout and a logic_error.
anyio::exception_group nested_group() {
    return anyio::exception_group(
        {error_of(anyio::timeout_error()),
         error_of(anyio::exception_group(
             {error_of(anyio::timeout_error()), error_of(std::logic_error("bug"))}))});
}

TEST(ExceptionGroup, LeavesLookThroughNestedGroupsInOrder) {
    const anyio::exception_group group = nested_group();
    EXPECT_EQ(group.size(), 2U) << "top level: the first timeout and the nested group";
    const std::vector<std::exception_ptr> leaves = group.leaves();
    ASSERT_EQ(leaves.size(), 3U) << group.what();
    EXPECT_THROW(std::rethrow_exception(leaves[0]), anyio::timeout_error);
    EXPECT_THROW(std::rethrow_exception(leaves[1]), anyio::timeout_error);
    EXPECT_THROW(std::rethrow_exception(leaves[2]), std::logic_error);
}

TEST(ExceptionGroup, HandleTakesTheMatchingLeavesAndThrowsTheRest) {
    const anyio::exception_group group = nested_group();
    int timeouts = 0;
    try {
        group.handle<anyio::timeout_error>([&](const anyio::timeout_error&) { ++timeouts; });
        FAIL() << "the logic_error was left: handle must throw";
    } catch (const anyio::exception_group& rest) {
        ASSERT_EQ(rest.size(), 1U);
        EXPECT_THROW(std::rethrow_exception(rest.exceptions()[0]), std::logic_error);
    }
    EXPECT_EQ(timeouts, 2);
}

TEST(ExceptionGroup, HandleReturnsWhenEveryLeafMatchedAndMatchesBaseClasses) {
    const anyio::exception_group group(
        {error_of(std::runtime_error("a")),
         error_of(std::system_error(EIO, std::generic_category())),
         error_of(anyio::exception_group({error_of(std::range_error("b"))}))});
    std::vector<std::string> seen;
    group.handle<std::runtime_error>(
        [&](const std::runtime_error& e) { seen.push_back(e.what()); });
    ASSERT_EQ(seen.size(), 3U);
    EXPECT_EQ(seen[0], "a");
    EXPECT_EQ(seen[2], "b");
}

TEST(ExceptionGroup, WhatTheHandlerThrowsPropagates) {
    const anyio::exception_group group({error_of(std::runtime_error("a"))});
    EXPECT_THROW(group.handle<std::runtime_error>(
                     [](const std::runtime_error&) { throw std::out_of_range("handler"); }),
                 std::out_of_range);
}

TEST(ExceptionGroup, SplitSortsLeavesIntoTwoFlatGroups) {
    const anyio::exception_group group = nested_group();
    const auto [timeouts, rest] = group.split<anyio::timeout_error>();
    ASSERT_TRUE(timeouts);
    ASSERT_TRUE(rest);
    try {
        std::rethrow_exception(timeouts);
    } catch (const anyio::exception_group& only) {
        EXPECT_EQ(only.size(), 2U);
    }
    try {
        std::rethrow_exception(rest);
    } catch (const anyio::exception_group& only) {
        EXPECT_EQ(only.size(), 1U);
    }
    const auto [none, everything] = group.split<std::bad_alloc>();
    EXPECT_FALSE(none);
    EXPECT_TRUE(everything);
    EXPECT_TRUE(group.contains<std::logic_error>());
    EXPECT_FALSE(group.contains<std::bad_alloc>());
}

TEST(ExceptionGroup, HandlesWhatARealTaskGroupThrows) {
    int handled = 0;
    try {
        anyio::run([]() -> anyio::task<> {
            co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
                // Each child fails before its first checkpoint, so none is cancelled first.
                tg.start_soon([]() -> anyio::task<> {
                    throw anyio::timeout_error();
                    co_return;
                });
                tg.start_soon([]() -> anyio::task<> {
                    throw std::runtime_error("disk full");
                    co_return;
                });
                co_return;
            });
        });
        FAIL() << "the group did not fail";
    } catch (const anyio::exception_group& group) {
        EXPECT_THROW(
            group.handle<anyio::timeout_error>([&](const anyio::timeout_error&) { ++handled; }),
            anyio::exception_group);
    }
    EXPECT_EQ(handled, 1);
}

TEST(ExceptionGroup, WhatListsEveryLeaf) {
    const anyio::exception_group group = nested_group();
    const std::string what = group.what();
    EXPECT_NE(what.find("2 failures"), std::string::npos) << what;
    EXPECT_NE(what.find("bug"), std::string::npos) << what;
    EXPECT_NE(what.find("deadline exceeded"), std::string::npos) << what;
}

}  // namespace
