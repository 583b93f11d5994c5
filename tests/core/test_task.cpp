#include <anyio/anyio.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

anyio::task<int> answer() {
    co_return 42;
}

anyio::task<int> add(int a, int b) {
    co_return a + b;
}

anyio::task<void> throws_runtime_error() {
    throw std::runtime_error("boom");
    co_return;
}

TEST(Task, RunReturnsTheValue) {
    EXPECT_EQ(anyio::run(answer), 42);
}

TEST(Task, RunPassesArguments) {
    EXPECT_EQ(anyio::run(add, 40, 2), 42);
}

TEST(Task, RunRethrows) {
    EXPECT_THROW(anyio::run(throws_runtime_error), std::runtime_error);
}

TEST(Task, ExceptionsPropagateToTheAwaiter) {
    auto main = []() -> anyio::task<std::string> {
        try {
            co_await throws_runtime_error();
        } catch (const std::runtime_error& e) {
            co_return std::string(e.what());
        }
        co_return std::string("not thrown");
    };
    EXPECT_EQ(anyio::run(main), "boom");
}

TEST(Task, IsLazy) {
    auto main = []() -> anyio::task<bool> {
        bool started = false;
        auto child = [&]() -> anyio::task<int> {
            started = true;
            co_return 1;
        };
        anyio::task<int> t = child();
        const bool before = started;
        const int v = co_await std::move(t);
        co_return !before && started && v == 1;
    };
    EXPECT_TRUE(anyio::run(main));
}

TEST(Task, MoveOnlyValuesPropagate) {
    auto main = []() -> anyio::task<std::unique_ptr<int>> {
        auto make = []() -> anyio::task<std::unique_ptr<int>> {
            co_return std::make_unique<int>(7);
        };
        co_return co_await make();
    };
    EXPECT_EQ(*anyio::run(main), 7);
}

// 10^6 children that complete without suspending, awaited in a loop: constant stack,
// also at -O0 under ASan (the dev preset).
TEST(Task, MillionSynchronousChildrenDoNotOverflowTheStack) {
    auto main = []() -> anyio::task<long> {
        long sum = 0;
        for (int i = 0; i < 1'000'000; ++i)
            sum += co_await add(i, 1) - i;
        co_return sum;
    };
    EXPECT_EQ(anyio::run(main), 1'000'000);
}

TEST(Task, DeepChainOfSuspendingChildren) {
    struct chain {
        static anyio::task<int> depth(int n) {
            if (n == 0) {
                co_await anyio::checkpoint();
                co_return 0;
            }
            co_return 1 + co_await depth(n - 1);
        }
    };
    EXPECT_EQ(anyio::run(chain::depth, 10'000), 10'000);
}

TEST(Run, AnyThreadCanRunItsOwnLoop) {
    int results[4] = {};
    std::thread threads[4];
    for (int i = 0; i < 4; ++i) {
        threads[i] = std::thread([&results, i] { results[i] = anyio::run(add, i, 100); });
    }
    for (auto& t : threads)
        t.join();
    for (int i = 0; i < 4; ++i)
        EXPECT_EQ(results[i], i + 100);
}

TEST(Run, NestedRunIsRefused) {
    auto main = []() -> anyio::task<bool> {
        try {
            anyio::run(answer);
        } catch (const std::logic_error&) {
            co_return true;
        }
        co_return false;
    };
    EXPECT_TRUE(anyio::run(main));
}

TEST(Run, SignalReceiverOutsideRunIsALogicError) {
    EXPECT_THROW((void)anyio::open_signal_receiver(SIGUSR1), std::logic_error);
}

}  // namespace
