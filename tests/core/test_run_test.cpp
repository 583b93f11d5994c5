// anyio::testing::run_test: the body's value and exceptions pass through, and the hang
// guard fires in real time, whatever the loop's clock, and reports itself as a failure.
#include <anyio/anyio.hpp>
#include <anyio/testing.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>

namespace {

using namespace std::chrono_literals;
using anyio::testing::hang_guard_expired;
using anyio::testing::mock_clock;
using anyio::testing::run_test;

// What run_test threw, if it threw hang_guard_expired ("" otherwise).
template <class F>
std::string guard_message(F body, const anyio::testing::test_options& options) {
    try {
        run_test(std::move(body), options);
    } catch (const hang_guard_expired& e) {
        return e.what();
    }
    return "";
}

TEST(RunTest, ReturnsTheBodysValueAndRethrowsItsException) {
    EXPECT_EQ(run_test([]() -> anyio::task<int> {
                  co_await anyio::sleep(1ms);
                  co_return 42;
              }),
              42);
    EXPECT_THROW(run_test([]() -> anyio::task<> {
                     co_await anyio::checkpoint();
                     throw std::runtime_error("boom");
                 }),
                 std::runtime_error);
}

TEST(RunTest, NoDeadlineAroundTheBody) {
    // The guard is not a cancel scope deadline: the body sees none.
    anyio::clock::time_point deadline{};
    run_test([&]() -> anyio::task<> {
        deadline = anyio::current_effective_deadline();
        co_return;
    });
    EXPECT_EQ(deadline, anyio::clock::time_point::max());
}

TEST(RunTest, TheGuardFiresInRealTimeWhenNothingCanMoveAMockClock) {
    // Autojump has no deadline to jump to: the loop waits forever, and only a guard on
    // real time can notice.
    mock_clock clk(anyio::testing::autojump);
    const std::string message =
        guard_message([]() -> anyio::task<> { co_await anyio::sleep_forever(); },
                      {.hang_guard = 50ms, .clock = &clk});
    EXPECT_NE(message.find("hang guard expired after 0.05 s of real time"), std::string::npos)
        << message;
}

TEST(RunTest, TheGuardIgnoresVirtualTime) {
    // A frozen clock: the hour never passes, whatever the guard's length in virtual time.
    mock_clock frozen;
    EXPECT_NE(guard_message([]() -> anyio::task<> { co_await anyio::sleep(1h); },
                            {.hang_guard = 50ms, .clock = &frozen}),
              "");
    // Under autojump, a day of virtual time passes well within a short guard.
    mock_clock jumping(anyio::testing::autojump);
    EXPECT_EQ(guard_message(
                  []() -> anyio::task<> {
                      for (int i = 0; i < 24; ++i)
                          co_await anyio::sleep(1h);
                  },
                  {.hang_guard = 30s, .clock = &jumping}),
              "");
}

TEST(RunTest, TheGuardFiresOnTheRealClockToo) {
    EXPECT_NE(guard_message(
                  []() -> anyio::task<> {
                      anyio::event never_set;
                      co_await never_set.wait();
                  },
                  {.hang_guard = 50ms}),
              "");
}

TEST(RunTest, AnExpiryIsReportedEvenIfTheBodySwallowsItsCancellation) {
    const std::string swallowed = guard_message(
        []() -> anyio::task<> {
            try {
                co_await anyio::sleep_forever();
            } catch (const anyio::cancelled&) {
                // returns normally
            }
        },
        {.hang_guard = 50ms});
    EXPECT_NE(swallowed, "");
    const std::string replaced = guard_message(
        []() -> anyio::task<> {
            try {
                co_await anyio::sleep_forever();
            } catch (const anyio::cancelled&) {
                throw std::runtime_error("cleanup failed");
            }
        },
        {.hang_guard = 50ms});
    EXPECT_NE(replaced.find("the body then failed with: cleanup failed"), std::string::npos)
        << replaced;
}

TEST(RunTestDeathTest, ABodyThatDoesNotUnwindAbortsWithTheReason) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(run_test(
                     []() -> anyio::task<> {
                         // The guard's cancellation cannot reach a shielded wait.
                         co_await anyio::shielded(
                             []() -> anyio::task<> { co_await anyio::sleep_forever(); });
                     },
                     {.hang_guard = 20ms, .unwind_grace = 20ms}),
                 "did not finish within 0.02 s of being cancelled");
}

}  // namespace
