// anyio::testing::mock_clock: virtual time that moves by jump(), at a rate, or by autojump
// when every task is blocked; what autojump waits for; and the real clock by default.
#include <anyio/anyio.hpp>
#include <anyio/testing.hpp>

#include "core/loop.hpp"

#include "support/run_helpers.hpp"
#include "support/stream_helpers.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using anyio::clock;
using anyio::testing::mock_clock;
using anyio::testing::run_test;
using steady = std::chrono::steady_clock;

// Spins (yielding) until the loop `lp` blocks in its poll: the one moment when a test may
// be sure that every task is waiting and the loop is idle. White-box, deterministic.
void wait_until_polling(anyio::detail::loop& lp) {
    while (!lp.waker().polling.load())
        std::this_thread::yield();
}

// ---------------------------------------------------------------------------------------
// autojump

TEST(MockClock, AnHourSleepEndsAtOnceWithTheClockAnHourLater) {
    // Without autojump nothing would move the clock: the hang guard would fail the test.
    mock_clock clk(anyio::testing::autojump);
    clock::time_point start{};
    clock::duration slept{};
    run_test(
        [&]() -> anyio::task<> {
            start = anyio::current_time();
            co_await anyio::sleep(1h);
            slept = anyio::current_time() - start;
        },
        {.clock = &clk});
    EXPECT_EQ(start, anyio::testing::mock_clock_options::default_start);
    EXPECT_EQ(slept, 1h);
    EXPECT_EQ(clk.now(), start + 1h);
}

TEST(MockClock, SleepersWakeInDeadlineOrderEachAtItsOwnTime) {
    mock_clock clk(anyio::testing::autojump);
    std::vector<std::pair<std::string, clock::duration>> wakes;
    run_test(
        [&]() -> anyio::task<> {
            const clock::time_point t0 = anyio::current_time();
            auto sleeper = [&wakes, t0](std::string name, clock::duration d) -> anyio::task<> {
                co_await anyio::sleep(d);
                wakes.emplace_back(std::move(name), anyio::current_time() - t0);
            };
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon(sleeper, std::string("3h"), clock::duration(3h));
                tg.start_soon(sleeper, std::string("30min"), clock::duration(30min));
                tg.start_soon(sleeper, std::string("2h"), clock::duration(2h));
                tg.start_soon(sleeper, std::string("1ns"), clock::duration(1ns));
                tg.start_soon(sleeper, std::string("1h"), clock::duration(1h));
                co_return;
            });
        },
        {.clock = &clk});
    const std::vector<std::pair<std::string, clock::duration>> expected = {
        {"1ns", 1ns}, {"30min", 30min}, {"1h", 1h}, {"2h", 2h}, {"3h", 3h}};
    EXPECT_EQ(wakes, expected);
}

TEST(MockClock, FailAfterAndMoveOnAfterFireAtTheVirtualDeadline) {
    mock_clock clk(anyio::testing::autojump);
    bool timed_out = false;
    clock::duration failed_after{};
    std::optional<bool> moved_on;
    clock::duration moved_on_after{};
    clock::time_point effective{};
    clock::time_point expected_effective{};
    run_test(
        [&]() -> anyio::task<> {
            clock::time_point t0 = anyio::current_time();
            try {
                co_await anyio::fail_after(30s, [&]() -> anyio::task<> {
                    effective = anyio::current_effective_deadline();
                    co_await anyio::sleep(1h);
                });
            } catch (const anyio::timeout_error&) {
                timed_out = true;
            }
            failed_after = anyio::current_time() - t0;
            expected_effective = t0 + 30s;
            t0 = anyio::current_time();
            moved_on = co_await anyio::move_on_after(
                90min, []() -> anyio::task<> { co_await anyio::sleep_forever(); });
            moved_on_after = anyio::current_time() - t0;
        },
        {.clock = &clk});
    EXPECT_TRUE(timed_out);
    EXPECT_EQ(failed_after, 30s);
    EXPECT_EQ(effective, expected_effective);
    ASSERT_TRUE(moved_on.has_value());
    EXPECT_FALSE(*moved_on);
    EXPECT_EQ(moved_on_after, 90min);
}

TEST(MockClock, DeadlinesAreComparedWithVirtualTimeNotTheRealClock) {
    // Virtual time far behind the real clock: a deadline one second ahead in virtual time
    // is long past in real time. Entering a scope, moving its deadline and firing the
    // timer must all use the virtual time.
    const clock::time_point half_the_real_time(steady::now().time_since_epoch() / 2);
    mock_clock clk({.start = half_the_real_time, .autojump_threshold = 0s});
    bool cancelled_at_entry = true;
    bool cancelled_by_set_deadline = true;
    clock::duration cut_after{};
    bool past_deadline_cancels = false;
    run_test(
        [&]() -> anyio::task<> {
            const clock::time_point t0 = anyio::current_time();
            anyio::cancel_scope scope(t0 + 1s);
            co_await scope.run([&]() -> anyio::task<> {
                cancelled_at_entry = scope.cancel_called();
                scope.set_deadline(anyio::current_time() + 2s);
                cancelled_by_set_deadline = scope.cancel_called();
                co_await anyio::sleep(1h);
            });
            cut_after = anyio::current_time() - t0;
            anyio::cancel_scope late(anyio::current_time() - 1ns);
            co_await late.run([]() -> anyio::task<> { co_return; });
            past_deadline_cancels = late.cancel_called();
        },
        {.clock = &clk});
    EXPECT_FALSE(cancelled_at_entry);
    EXPECT_FALSE(cancelled_by_set_deadline);
    EXPECT_EQ(cut_after, 2s);
    EXPECT_TRUE(past_deadline_cancels);
}

TEST(MockClock, NoJumpWhileATaskIsRunnable) {
    mock_clock clk(anyio::testing::autojump);
    int moved_while_busy = 0;
    clock::duration slept{};
    run_test(
        [&]() -> anyio::task<> {
            const clock::time_point t0 = anyio::current_time();
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon([&]() -> anyio::task<> {
                    co_await anyio::sleep(1h);
                    slept = anyio::current_time() - t0;
                });
                // Always runnable: the loop never idles, so the clock stands still.
                for (int i = 0; i < 1000; ++i) {
                    co_await anyio::checkpoint();
                    if (anyio::current_time() != t0) ++moved_while_busy;
                }
            });
        },
        {.clock = &clk});
    EXPECT_EQ(moved_while_busy, 0);
    EXPECT_EQ(slept, 1h);
}

TEST(MockClock, NoJumpWhenThePollReportsReadiness) {
    // Bytes one task sends through a socketpair reach the other through the loop's poll,
    // at a moment when every task is blocked and an hour-long sleep is pending: the poll
    // that reports them must not jump.
    mock_clock clk(anyio::testing::autojump);
    clock::duration received_at{-1};
    clock::duration slept{};
    run_test(
        [&]() -> anyio::task<> {
            auto ends = anyio_test::socket_pair();
            const clock::time_point t0 = anyio::current_time();
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon([&]() -> anyio::task<> {
                    co_await anyio::sleep(1h);
                    slept = anyio::current_time() - t0;
                });
                tg.start_soon([&]() -> anyio::task<> {
                    (void)co_await ends.second.receive();
                    received_at = anyio::current_time() - t0;
                });
                co_await anyio_test::settle();  // the receiver waits in epoll now
                co_await ends.first.send("x");
            });
        },
        {.clock = &clk});
    EXPECT_EQ(received_at, 0s);
    EXPECT_EQ(slept, 1h);
}

TEST(MockClock, ThresholdLeavesAWorkerThreadItsRealTime) {
    // A worker still busy while every task waits: with a threshold of 30 s (real) the clock
    // does not jump during the worker's run, even though the loop idles in its poll with a
    // deadline pending. The worker is released only once the loop is seen idle.
    mock_clock clk({.autojump_threshold = 30s});
    clock::duration moved_during_work{-1};
    bool sleeper_woke_during_work = true;
    clock::duration slept{};
    run_test(
        [&]() -> anyio::task<> {
            anyio::detail::loop& lp = *anyio::detail::loop::current();
            const clock::time_point t0 = anyio::current_time();
            bool woke = false;
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon([&]() -> anyio::task<> {
                    co_await anyio::sleep(1h);
                    woke = true;
                    slept = anyio::current_time() - t0;
                });
                std::atomic<bool> release{false};
                std::jthread releaser([&] {
                    wait_until_polling(lp);
                    release = true;
                });
                auto work = [&release] {
                    while (!release.load())
                        std::this_thread::yield();
                };
                co_await anyio::to_thread::run_sync(work);
                moved_during_work = anyio::current_time() - t0;
                sleeper_woke_during_work = woke;
                clk.set_autojump_threshold(0s);  // now let the sleeper's hour pass
            });
        },
        {.clock = &clk});
    EXPECT_EQ(moved_during_work, 0s);
    EXPECT_FALSE(sleeper_woke_during_work);
    EXPECT_EQ(slept, 1h);
}

TEST(MockClock, ThresholdZeroJumpsEvenWhileAWorkerIsBusy) {
    // Trio's caveat, and the guarantee given with threshold 0: the clock cannot see a
    // worker thread, so it jumps as soon as every task waits. This worker finishes only
    // after the sleeper's hour has passed, which can happen only by a jump during its run.
    mock_clock clk(anyio::testing::autojump);
    clock::duration slept{};
    run_test(
        [&]() -> anyio::task<> {
            const clock::time_point t0 = anyio::current_time();
            std::atomic<bool> woke{false};
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon([&]() -> anyio::task<> {
                    co_await anyio::sleep(1h);
                    slept = anyio::current_time() - t0;
                    woke = true;
                });
                auto work = [&woke] {
                    while (!woke.load())
                        std::this_thread::yield();
                };
                co_await anyio::to_thread::run_sync(work);
            });
        },
        {.clock = &clk});
    EXPECT_EQ(slept, 1h);
}

TEST(MockClock, ThresholdIsMeasuredInRealTime) {
    // 20 ms of real idleness before each jump: three sleeps take at least 60 ms of real
    // time, and virtual time moves by exactly their lengths.
    mock_clock clk({.autojump_threshold = 20ms});
    clock::duration slept{};
    steady::duration real{};
    run_test(
        [&]() -> anyio::task<> {
            const clock::time_point t0 = anyio::current_time();
            const steady::time_point r0 = steady::now();
            for (int i = 0; i < 3; ++i)
                co_await anyio::sleep(1h);
            slept = anyio::current_time() - t0;
            real = steady::now() - r0;
        },
        {.clock = &clk});
    EXPECT_EQ(slept, 3h);
    EXPECT_GE(real, 60ms);
}

// ---------------------------------------------------------------------------------------
// jump and rate

TEST(MockClock, JumpWakesTheSleepersWhoseDeadlinePassed) {
    mock_clock clk;  // no autojump: only jump() moves it
    clock::duration a_woke{-1};
    bool b_woke_early = true;
    clock::duration b_woke{-1};
    run_test(
        [&]() -> anyio::task<> {
            const clock::time_point t0 = anyio::current_time();
            bool b_done = false;
            anyio::event a_done;
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon([&]() -> anyio::task<> {
                    co_await anyio::sleep(10s);
                    a_woke = anyio::current_time() - t0;
                    a_done.set();
                });
                tg.start_soon([&]() -> anyio::task<> {
                    co_await anyio::sleep(20s);
                    b_woke = anyio::current_time() - t0;
                    b_done = true;
                });
                co_await anyio_test::settle();
                clk.jump(15s);  // past a's deadline, short of b's
                co_await a_done.wait();
                co_await anyio_test::settle();
                b_woke_early = b_done;
                clk.jump(5s);
            });
        },
        {.clock = &clk});
    EXPECT_EQ(a_woke, 15s);  // woken by the jump, at the time the jump reached
    EXPECT_FALSE(b_woke_early);
    EXPECT_EQ(b_woke, 20s);
}

TEST(MockClock, JumpFromAnotherThreadWakesTheBlockedLoop) {
    mock_clock clk;
    clock::duration slept{};
    run_test(
        [&]() -> anyio::task<> {
            anyio::detail::loop& lp = *anyio::detail::loop::current();
            const clock::time_point t0 = anyio::current_time();
            std::jthread jumper([&] {
                wait_until_polling(lp);  // the loop sleeps with a deadline an hour away
                clk.jump(1h);
            });
            co_await anyio::sleep(1h);
            slept = anyio::current_time() - t0;
        },
        {.clock = &clk});
    EXPECT_EQ(slept, 1h);
}

TEST(MockClock, RateRunsVirtualTimeFasterThanRealTime) {
    // A million virtual seconds per real second: a 10 s sleep lasts about 10 us, ended
    // by the clock's own running, not by a jump.
    mock_clock clk({.rate = 1e6});
    clock::duration slept{};
    bool frozen = false;
    run_test(
        [&]() -> anyio::task<> {
            const clock::time_point t0 = anyio::current_time();
            co_await anyio::sleep(10s);
            slept = anyio::current_time() - t0;
            clk.set_rate(0.0);
            const clock::time_point a = anyio::current_time();
            co_await anyio::checkpoint();
            frozen = anyio::current_time() == a;
        },
        {.clock = &clk});
    EXPECT_GE(slept, 10s);
    EXPECT_TRUE(frozen);
    EXPECT_EQ(clk.rate(), 0.0);
}

TEST(MockClock, OptionsAndArgumentsAreChecked) {
    EXPECT_THROW(mock_clock({.rate = -1.0}), std::invalid_argument);
    EXPECT_THROW(mock_clock({.rate = std::nan("")}), std::invalid_argument);
    EXPECT_THROW(mock_clock({.autojump_threshold = -1ns}), std::invalid_argument);
    EXPECT_THROW(mock_clock({.start = clock::time_point(-1ns)}), std::invalid_argument);
    mock_clock clk({.start = clock::time_point(5s)});
    EXPECT_EQ(clk.now(), clock::time_point(5s));
    EXPECT_EQ(clk.autojump_threshold(), clock::duration::max());
    EXPECT_THROW(clk.jump(-1ns), std::invalid_argument);
    EXPECT_THROW(clk.set_rate(-0.5), std::invalid_argument);
    EXPECT_THROW(clk.set_autojump_threshold(-1s), std::invalid_argument);
    clk.jump(2s);  // outside any loop too
    EXPECT_EQ(clk.now(), clock::time_point(7s));
    clk.set_autojump_threshold(0s);
    EXPECT_EQ(clk.autojump_threshold(), 0s);
}

TEST(MockClock, OneLoopAtATimeAndTimeCarriesOverToTheNextRun) {
    mock_clock clk(anyio::testing::autojump);
    bool refused = false;
    run_test(
        [&]() -> anyio::task<> {
            co_await anyio::sleep(1h);
            std::thread other([&] {
                anyio::run_options options;
                options.clock = &clk;
                try {
                    anyio::run(options, []() -> anyio::task<> { co_return; });
                } catch (const std::logic_error&) {
                    refused = true;
                }
            });
            other.join();
        },
        {.clock = &clk});
    EXPECT_TRUE(refused);
    const clock::time_point after_first = clk.now();
    clock::time_point seen{};
    run_test(
        [&]() -> anyio::task<> {
            seen = anyio::current_time();
            co_return;
        },
        {.clock = &clk});
    EXPECT_EQ(seen, after_first);
    EXPECT_EQ(after_first, anyio::testing::mock_clock_options::default_start + 1h);
}

// ---------------------------------------------------------------------------------------
// the default clock

TEST(MockClock, WithoutOneTheLoopKeepsTheMonotonicClock) {
    int outside_bracket = 0;
    steady::duration slept{};
    anyio::run([&]() -> anyio::task<> {
        for (int i = 0; i < 100; ++i) {
            const steady::time_point before = steady::now();
            const clock::time_point now = anyio::current_time();
            const steady::time_point after = steady::now();
            if (now < before || after < now) ++outside_bracket;
            co_await anyio::checkpoint();
        }
        const steady::time_point r0 = steady::now();
        co_await anyio::sleep(2ms);
        slept = steady::now() - r0;
    });
    EXPECT_EQ(outside_bracket, 0);
    EXPECT_GE(slept, 2ms);
    // Outside any loop too, also while a mock clock exists.
    const mock_clock clk;
    const steady::time_point before = steady::now();
    const clock::time_point now = anyio::current_time();
    EXPECT_GE(now, before);
    EXPECT_LE(now, steady::now());
}

}  // namespace
