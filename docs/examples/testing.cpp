#include <anyio/anyio.hpp>
#include <anyio/testing.hpp>

#include <gtest/gtest.h>

#include <chrono>

using namespace std::chrono_literals;

TEST(Retry, GivesUpAfterThirtySeconds) {
    anyio::testing::mock_clock clock(anyio::testing::autojump);
    bool timed_out = false;
    anyio::clock::duration waited{};
    anyio::testing::run_test(
        [&]() -> anyio::task<> {
            const auto start = anyio::current_time();
            try {
                co_await anyio::fail_after(30s, []() -> anyio::task<> {
                    for (;;)
                        co_await anyio::sleep(7s);  // "retry every 7 s"
                });
            } catch (const anyio::timeout_error&) {
                timed_out = true;
            }
            waited = anyio::current_time() - start;
        },
        {.clock = &clock});
    EXPECT_TRUE(timed_out);
    EXPECT_EQ(waited, 30s);  // exactly, and in a few microseconds of real time
}
