// Argument passing, as with std::thread: every API that keeps a callable and its arguments
// for later (task_group::start_soon and start, to_thread::run_sync, blocking_portal::call,
// from_thread::run) decay-copies each argument and passes the copy as an rvalue. std::ref
// shares; a plain argument is the task's own copy; a move-only one is moved in. Binding a
// copy to a non-const reference parameter does not compile: tests/compile_fail/.
#include <anyio/anyio.hpp>

#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace {

using anyio_test::run_guarded;

anyio::task<> increment(int& n) {
    co_await anyio::checkpoint();
    ++n;
}

anyio::task<> read_through_cref(const int& n, int* out) {
    co_await anyio::checkpoint();
    *out = n;
}

TEST(ArgumentPassing, StdRefSharesTheCallersObject) {
    int counter = 0;
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon(increment, std::ref(counter));
            tg.start_soon(increment, std::ref(counter));
            co_return;
        });
    });
    EXPECT_EQ(counter, 2);
}

// std::cref to a `const int&` parameter reads the caller's object as it is when the child
// runs, not a copy taken at start_soon.
TEST(ArgumentPassing, StdCrefSharesReadOnly) {
    int value = 1;
    int seen = 0;
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon(read_through_cref, std::cref(value), &seen);
            value = 2;  // before the child first runs: start_soon is not a checkpoint
            co_return;
        });
    });
    EXPECT_EQ(seen, 2);
}

TEST(ArgumentPassing, ByValueArgumentIsACopy) {
    int caller = 1;
    int seen = 0;
    run_guarded([&]() -> anyio::task<> {
        auto change_own_copy = [](int n, int* out) -> anyio::task<> {
            co_await anyio::checkpoint();
            n += 10;
            *out = n;
        };
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon(change_own_copy, caller, &seen);
            caller = 5;  // the child copied 1 already
            co_return;
        });
    });
    EXPECT_EQ(seen, 11);
    EXPECT_EQ(caller, 5);
}

TEST(ArgumentPassing, MoveOnlyArgumentIsMovedIn) {
    int seen = 0;
    run_guarded([&]() -> anyio::task<> {
        auto by_value = [](std::unique_ptr<int> p, int* out) -> anyio::task<> {
            co_await anyio::checkpoint();
            *out += *p;
        };
        auto by_rvalue_ref = [](std::unique_ptr<int>&& p, int* out) -> anyio::task<> {
            co_await anyio::checkpoint();
            std::unique_ptr<int> owned = std::move(p);
            *out += *owned;
        };
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            auto one = std::make_unique<int>(1);
            tg.start_soon(by_value, std::move(one), &seen);
            EXPECT_EQ(one, nullptr);
            tg.start_soon(by_rvalue_ref, std::make_unique<int>(10), &seen);
            co_return;
        });
    });
    EXPECT_EQ(seen, 11);
}

// A coroutine with a `const std::string&` parameter refers to the child's copy, which lives
// as long as the child: the caller's temporary is long gone when the child reads it.
TEST(ArgumentPassing, ConstRefParameterGetsTheTasksOwnCopy) {
    std::string seen;
    run_guarded([&]() -> anyio::task<> {
        auto keep_ref = [](const std::string& s, std::string* out) -> anyio::task<> {
            co_await anyio::checkpoint();
            co_await anyio::checkpoint();
            *out = s;
        };
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon(keep_ref, std::string(64, 'x'), &seen);  // temporary ends here
            std::string overwrite(64, 'y');  // likely reuses a freed block, if any
            co_await anyio::checkpoint();
            EXPECT_EQ(overwrite.size(), 64U);
        });
    });
    EXPECT_EQ(seen, std::string(64, 'x'));
}

TEST(ArgumentPassing, TaskGroupStartPassesCopiesAndRefs) {
    int counter = 0;
    int started_with = 0;
    run_guarded([&]() -> anyio::task<> {
        auto child = [](anyio::task_status<int>& status, int& shared,
                        std::unique_ptr<int> owned) -> anyio::task<> {
            ++shared;
            status.started(*owned);
            co_return;
        };
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            started_with = co_await tg.start(child, std::ref(counter), std::make_unique<int>(7));
        });
    });
    EXPECT_EQ(counter, 1);
    EXPECT_EQ(started_with, 7);
}

TEST(ArgumentPassing, ToThreadRunSyncPassesCopiesAndRefs) {
    int counter = 0;
    std::string got;
    run_guarded([&]() -> anyio::task<> {
        auto work = [](int& shared, std::unique_ptr<int> owned, const std::string& text) {
            ++shared;
            return text + std::to_string(*owned);
        };
        got = co_await anyio::to_thread::run_sync(work, std::ref(counter), std::make_unique<int>(3),
                                                  std::string("n="));
    });
    EXPECT_EQ(counter, 1);
    EXPECT_EQ(got, "n=3");
}

TEST(ArgumentPassing, PortalAndFromThreadPassCopiesAndRefs) {
    int counter = 0;
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    auto bump_plain = [](int& n, std::unique_ptr<int> by) { n += *by; };
    portal.call(bump_plain, std::ref(counter), std::make_unique<int>(1));
    portal.call(increment, std::ref(counter));
    int from_worker = portal.call([]() -> anyio::task<int> {
        co_return co_await anyio::to_thread::run_sync([] {
            int n = 0;
            anyio::from_thread::run(increment, std::ref(n));
            anyio::from_thread::run_sync([](int& m, std::unique_ptr<int> by) { m += *by; },
                                         std::ref(n), std::make_unique<int>(10));
            return n;
        });
    });
    portal.stop();
    EXPECT_EQ(counter, 2);
    EXPECT_EQ(from_worker, 11);
}

}  // namespace
