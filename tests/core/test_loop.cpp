// The event loop: sleeping, checkpoints, the clock, events, the deadline heap, and the
// one door other threads may use (loop::post). Sleeps and timers run on virtual time
// (run_autojump), exact and instant; the real clock is checked where it is the subject.
#include <anyio/anyio.hpp>

#include "core/deadline_heap.hpp"
#include "core/loop.hpp"

#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using anyio_test::run_autojump;
using anyio_test::run_guarded;
using steady = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------
// sleep, sleep_until, checkpoint, current_time

TEST(Sleep, LastsExactlyItsDurationInVirtualTime) {
    std::vector<std::pair<steady::duration, steady::duration>> slept;  // {asked, got}
    run_autojump([&]() -> anyio::task<> {
        for (const steady::duration d :
             {steady::duration(1ms), steady::duration(10ms), steady::duration(25h)}) {
            const auto t0 = anyio::current_time();
            co_await anyio::sleep(d);
            slept.emplace_back(d, anyio::current_time() - t0);
        }
        // A fractional duration is rounded up, never down.
        const auto t0 = anyio::current_time();
        co_await anyio::sleep(std::chrono::duration<double, std::nano>(2.5));
        slept.emplace_back(3ns, anyio::current_time() - t0);
    });
    ASSERT_EQ(slept.size(), 4U);
    for (const auto& [asked, got] : slept) {
        EXPECT_EQ(got, asked);
    }
}

TEST(Sleep, LastsAtLeastItsDurationInRealTime) {
    steady::duration got{};
    run_guarded([&]() -> anyio::task<> {
        const auto t0 = steady::now();
        co_await anyio::sleep(2ms);
        got = steady::now() - t0;
    });
    EXPECT_GE(got, 2ms);
}

TEST(Sleep, SleepUntilWakesAtTheDeadline) {
    anyio::clock::time_point target{};
    anyio::clock::time_point woke{};
    run_autojump([&]() -> anyio::task<> {
        target = anyio::current_time() + 20ms;
        co_await anyio::sleep_until(target);
        woke = anyio::current_time();
    });
    EXPECT_EQ(woke, target);
}

TEST(Sleep, DeadlineInThePastStillYields) {
    // A sleep that is already due is still a schedule point: a task that is ready runs
    // before the sleeper continues.
    std::vector<std::string> log;
    run_autojump([&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                log.emplace_back("other");
                co_return;
            });
            log.emplace_back("before sleep_until");
            co_await anyio::sleep_until(anyio::current_time() - 1s);
            log.emplace_back("after sleep_until");

            tg.start_soon([&]() -> anyio::task<> {
                log.emplace_back("other 2");
                co_return;
            });
            co_await anyio::sleep(0ms);
            log.emplace_back("after sleep(0)");

            tg.start_soon([&]() -> anyio::task<> {
                log.emplace_back("other 3");
                co_return;
            });
            co_await anyio::sleep(-5ms);
            log.emplace_back("after sleep(-5ms)");
        });
    });
    const std::vector<std::string> expected = {
        "before sleep_until", "other",   "after sleep_until", "other 2",
        "after sleep(0)",     "other 3", "after sleep(-5ms)",
    };
    EXPECT_EQ(log, expected);
}

TEST(Sleep, ForeverSleepIsCancellable) {
    // hours::max() saturates to "forever" instead of overflowing into the past.
    std::optional<bool> finished;
    anyio::clock::duration slept{};
    run_autojump([&]() -> anyio::task<> {
        const auto t0 = anyio::current_time();
        finished = co_await anyio::move_on_after(
            20ms, []() -> anyio::task<> { co_await anyio::sleep(std::chrono::hours::max()); });
        slept = anyio::current_time() - t0;
    });
    ASSERT_TRUE(finished.has_value());
    EXPECT_FALSE(*finished);
    EXPECT_EQ(slept, 20ms);
}

TEST(Checkpoint, LetsOtherTasksRun) {
    std::vector<std::string> log;
    run_guarded([&]() -> anyio::task<> {
        auto worker = [&log](std::string name) -> anyio::task<> {
            for (int i = 0; i < 3; ++i) {
                log.push_back(name + std::to_string(i));
                co_await anyio::checkpoint();
            }
        };
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon(worker, std::string("a"));
            tg.start_soon(worker, std::string("b"));
            tg.start_soon(worker, std::string("c"));
            co_return;
        });
    });
    const std::vector<std::string> expected = {"a0", "b0", "c0", "a1", "b1",
                                               "c1", "a2", "b2", "c2"};
    EXPECT_EQ(log, expected);
}

TEST(Checkpoint, ThrowsInsideACancelledScope) {
    bool threw = false;
    run_guarded([&]() -> anyio::task<> {
        anyio::cancel_scope scope;
        co_await scope.run([&]() -> anyio::task<> {
            scope.cancel();
            try {
                co_await anyio::checkpoint();
            } catch (const anyio::cancelled&) {
                threw = true;
            }
        });
    });
    EXPECT_TRUE(threw);
}

TEST(CurrentTime, IsMonotonicAndTheSteadyClock) {
    static_assert(anyio::clock::is_steady);
    int backwards = 0;
    int outside_bracket = 0;
    run_guarded([&]() -> anyio::task<> {
        anyio::clock::time_point previous = anyio::current_time();
        for (int i = 0; i < 2000; ++i) {
            if (i % 3 == 0) {
                co_await anyio::checkpoint();
            } else if (i % 3 == 1) {
                co_await anyio::sleep(0ms);
            }
            const auto before = steady::now();
            const anyio::clock::time_point now = anyio::current_time();
            const auto after = steady::now();
            if (now < previous) ++backwards;
            if (now < before || after < now) ++outside_bracket;
            previous = now;
        }
        co_await anyio::sleep(2ms);
        if (anyio::current_time() < previous + 2ms) ++backwards;
    });
    EXPECT_EQ(backwards, 0);
    EXPECT_EQ(outside_bracket, 0);
}

// ---------------------------------------------------------------------------------------
// event

TEST(Event, SetWakesEveryWaiter) {
    constexpr int waiters = 5;
    int waiting = 0;
    int woken = 0;
    int woken_before_set = -1;
    int waiting_before_set = -1;
    bool set_before = true;
    bool set_after = false;
    int saw_set = 0;
    run_autojump([&]() -> anyio::task<> {
        anyio::event ev;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int i = 0; i < waiters; ++i) {
                tg.start_soon([&]() -> anyio::task<> {
                    ++waiting;
                    co_await ev.wait();
                    if (ev.is_set()) ++saw_set;
                    ++woken;
                });
            }
            co_await anyio::sleep(5ms);  // autojump: ends once every waiter is parked
            waiting_before_set = waiting;
            woken_before_set = woken;
            set_before = ev.is_set();
            ev.set();
            ev.set();  // idempotent
            set_after = ev.is_set();
        });
    });
    EXPECT_EQ(waiting_before_set, waiters);
    EXPECT_EQ(woken_before_set, 0);
    EXPECT_FALSE(set_before);
    EXPECT_TRUE(set_after);
    EXPECT_EQ(woken, waiters);
    EXPECT_EQ(saw_set, waiters);
}

TEST(Event, WaitOnASetEventReturnsAndIsACheckpoint) {
    std::vector<std::string> log;
    bool cancelled_wait = false;
    run_guarded([&]() -> anyio::task<> {
        anyio::event ev;
        ev.set();
        co_await ev.wait();
        log.emplace_back("first wait");
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                log.emplace_back("other");
                co_return;
            });
            co_await ev.wait();  // already set: returns, but lets "other" run first
            log.emplace_back("second wait");
        });
        // A checkpoint also when set: inside a cancelled scope it throws.
        anyio::cancel_scope scope;
        scope.cancel();
        co_await scope.run([&]() -> anyio::task<> {
            try {
                co_await ev.wait();
            } catch (const anyio::cancelled&) {
                cancelled_wait = true;
                throw;
            }
        });
    });
    const std::vector<std::string> expected = {"first wait", "other", "second wait"};
    EXPECT_EQ(log, expected);
    EXPECT_TRUE(cancelled_wait);
}

TEST(Event, CancellingSomeWaitersLeavesTheOthersWaiting) {
    // Waiters 0, 2 and 4 each wait inside their own scope; cancelling those scopes must
    // unlink them from the event (head, middle and tail of its list) and wake only them.
    constexpr int waiters = 5;
    std::vector<int> outcome(waiters, 0);  // 1: woken by set, 2: cancelled
    std::vector<int> outcome_before_set;
    std::vector<bool> caught(waiters, false);
    run_autojump([&]() -> anyio::task<> {
        anyio::event ev;
        std::vector<anyio::cancel_scope> scopes(waiters);
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int i = 0; i < waiters; ++i) {
                tg.start_soon([&, i]() -> anyio::task<> {
                    const auto idx = static_cast<std::size_t>(i);
                    co_await scopes[idx].run([&]() -> anyio::task<> {
                        try {
                            co_await ev.wait();
                            outcome[idx] = 1;
                        } catch (const anyio::cancelled&) {
                            outcome[idx] = 2;
                            throw;
                        }
                    });
                    caught[idx] = scopes[idx].cancelled_caught();
                });
            }
            co_await anyio::sleep(5ms);  // autojump: ends once every waiter is parked
            scopes[0].cancel();
            scopes[2].cancel();
            scopes[4].cancel();
            co_await anyio::sleep(5ms);  // ends once the cancelled waiters have unwound
            outcome_before_set = outcome;
            ev.set();
        });
    });
    EXPECT_EQ(outcome_before_set, (std::vector<int>{2, 0, 2, 0, 2}));
    EXPECT_EQ(outcome, (std::vector<int>{2, 1, 2, 1, 2}));
    EXPECT_EQ(caught, (std::vector<bool>{true, false, true, false, true}));
}

// ---------------------------------------------------------------------------------------
// timers and the deadline heap

TEST(Timers, ManySleepsFireInDeadlineOrder) {
    constexpr int sleepers = 10'000;
    struct wake {
        anyio::clock::time_point deadline;
        anyio::clock::time_point woke;
    };
    std::vector<wake> wakes;
    wakes.reserve(sleepers);
    run_autojump([&]() -> anyio::task<> {
        std::mt19937 rng(12345);
        std::uniform_int_distribution<int> micros(1'000, 300'000);
        auto sleeper = [&wakes](std::chrono::microseconds d) -> anyio::task<> {
            // The deadline is taken right before sleeping, so it is always in the future
            // when the timer is queued: no sleep takes the "already due" path.
            const anyio::clock::time_point deadline = anyio::current_time() + d;
            co_await anyio::sleep_until(deadline);
            wakes.push_back({deadline, anyio::current_time()});
        };
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int i = 0; i < sleepers; ++i) {
                tg.start_soon(sleeper, std::chrono::microseconds(micros(rng)));
            }
            co_return;
        });
    });
    ASSERT_EQ(wakes.size(), static_cast<std::size_t>(sleepers));
    EXPECT_TRUE(std::is_sorted(wakes.begin(), wakes.end(), [](const wake& a, const wake& b) {
        return a.deadline < b.deadline;
    }));
    int not_on_time = 0;  // virtual time: each wakes exactly at its deadline
    for (const wake& w : wakes) {
        if (w.woke != w.deadline) ++not_on_time;
    }
    EXPECT_EQ(not_on_time, 0);
}

TEST(Timers, FarDeadlinesThatNeverFireAreRemoved) {
    // 10^5 cancel scopes with far deadlines (a third of them moved while active) are
    // entered and left by 100 tasks at once. Each exit must take its deadline out of the
    // heap (O(log n), from anywhere in it):
    // the heap never holds more than the scopes alive at one time, and short timers
    // keep firing correctly in the middle of the churn.
    constexpr int workers = 100;
    constexpr int rounds = 1'000;
    std::size_t baseline = 0;
    std::size_t peak = 0;
    std::size_t after = 0;
    int scopes_done = 0;
    int short_sleeps = 0;
    int short_sleeps_early = 0;
    run_guarded([&]() -> anyio::task<> {
        anyio::detail::loop* lp = anyio::detail::loop::current();
        baseline = lp->timers().size();  // none: run_test's hang guard is no timer
        std::mt19937 rng(777);
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int w = 0; w < workers; ++w) {
                const unsigned seed = static_cast<unsigned>(rng());
                tg.start_soon([&, seed]() -> anyio::task<> {
                    std::mt19937 local(seed);
                    std::uniform_int_distribution<int> minutes(60, 60'000);
                    for (int r = 0; r < rounds; ++r) {
                        anyio::cancel_scope scope(anyio::current_time() +
                                                  std::chrono::minutes(minutes(local)));
                        co_await scope.run([&]() -> anyio::task<> {
                            // Moving the deadline of an active scope re-queues it once.
                            if (local() % 3 == 0) {
                                scope.set_deadline(anyio::current_time() +
                                                   std::chrono::minutes(minutes(local)));
                            }
                            peak = std::max(peak, lp->timers().size());
                            // Leave in a random order relative to the other workers.
                            if (local() % 2 == 0) co_await anyio::checkpoint();
                        });
                        if (!scope.cancel_called()) ++scopes_done;
                    }
                });
            }
            tg.start_soon([&]() -> anyio::task<> {
                for (int i = 0; i < 20; ++i) {
                    const auto t0 = anyio::current_time();
                    co_await anyio::sleep(1ms);
                    if (anyio::current_time() < t0 + 1ms) ++short_sleeps_early;
                    ++short_sleeps;
                }
            });
            co_return;
        });
        after = lp->timers().size();
    });
    EXPECT_EQ(scopes_done, workers * rounds);
    EXPECT_EQ(short_sleeps, 20);
    EXPECT_EQ(short_sleeps_early, 0);
    EXPECT_EQ(after, baseline);
    EXPECT_LE(peak, baseline + workers + 1);  // + the short sleeper's timer
}

TEST(DeadlineHeap, EraseAnywhereKeepsTheOrder) {
    // The heap directly: push 10^5 random deadlines, erase a random half in random order
    // (interleaved with more pushes), then pop everything: nondecreasing, nothing lost.
    using anyio::detail::timer_node;
    constexpr std::size_t n = 100'000;
    std::mt19937_64 rng(4242);
    std::uniform_int_distribution<long long> offset(0, 1'000'000'000);
    const anyio::clock::time_point base{};
    std::vector<timer_node> nodes(n + n / 10);
    for (auto& node : nodes) {
        node.when = base + std::chrono::nanoseconds(offset(rng));
    }

    anyio::detail::deadline_heap heap;
    for (std::size_t i = 0; i < n; ++i) {
        heap.push(nodes[i]);
    }
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) {
        order[i] = i;
    }
    std::shuffle(order.begin(), order.end(), rng);
    std::size_t extra = n;
    for (std::size_t k = 0; k < n / 2; ++k) {
        heap.erase(nodes[order[k]]);
        EXPECT_FALSE(nodes[order[k]].queued());
        if (k % 5 == 0 && extra < nodes.size()) heap.push(nodes[extra++]);
    }
    const std::size_t expected = n - n / 2 + (extra - n);
    ASSERT_EQ(heap.size(), expected);

    std::size_t popped = 0;
    std::size_t out_of_order = 0;
    anyio::clock::time_point previous = anyio::clock::time_point::min();
    while (anyio::detail::timer_node* top = heap.top()) {
        if (top->when < previous) ++out_of_order;
        previous = top->when;
        heap.erase(*top);
        ++popped;
    }
    EXPECT_EQ(popped, expected);
    EXPECT_EQ(out_of_order, 0U);
    EXPECT_TRUE(heap.empty());
    for (const auto& node : nodes) {
        EXPECT_FALSE(node.queued());
    }
}

// ---------------------------------------------------------------------------------------
// loop::post: the cross-thread door

TEST(Post, ClosuresFromAnotherThreadRunOnTheLoopThread) {
    constexpr int posts = 1000;
    int counter = -1;
    int off_thread = -1;
    bool had_loop = false;
    run_guarded([&]() -> anyio::task<> {
        anyio::detail::loop* lp = anyio::detail::loop::current();
        had_loop = lp != nullptr;
        const std::thread::id loop_thread = std::this_thread::get_id();
        // Touched only by posted closures, which run on the loop thread.
        int count = 0;
        int wrong_thread = 0;
        anyio::event done;
        {
            std::jthread poster([&] {
                for (int i = 0; i < posts; ++i) {
                    lp->post([&] {
                        if (std::this_thread::get_id() != loop_thread) ++wrong_thread;
                        if (++count == posts) done.set();
                    });
                    // Pauses let the loop fall asleep in poll, so post must wake it.
                    if (i % 50 == 0) std::this_thread::sleep_for(200us);
                }
            });
            co_await done.wait();
        }  // joins the poster
        counter = count;
        off_thread = wrong_thread;
    });
    EXPECT_TRUE(had_loop);
    EXPECT_EQ(counter, posts);
    EXPECT_EQ(off_thread, 0);
}

TEST(Post, ManyProducersKeepTheirOwnOrder) {
    constexpr int producers = 4;
    constexpr int per_producer = 250;
    std::vector<std::vector<int>> seen(producers);
    int off_thread = -1;
    run_guarded([&]() -> anyio::task<> {
        anyio::detail::loop* lp = anyio::detail::loop::current();
        const std::thread::id loop_thread = std::this_thread::get_id();
        int total = 0;
        int wrong_thread = 0;
        anyio::event done;
        {
            std::vector<std::jthread> threads;
            for (int p = 0; p < producers; ++p) {
                threads.emplace_back([&, p] {
                    for (int i = 0; i < per_producer; ++i) {
                        lp->post([&, p, i] {
                            if (std::this_thread::get_id() != loop_thread) ++wrong_thread;
                            seen[static_cast<std::size_t>(p)].push_back(i);
                            if (++total == producers * per_producer) done.set();
                        });
                        if (i % 25 == 0) std::this_thread::yield();
                    }
                });
            }
            // Meanwhile a task keeps the loop busy, yielding without ever blocking:
            // posted work must not starve behind it.
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon([&]() -> anyio::task<> {
                    while (!done.is_set())
                        co_await anyio::checkpoint();
                });
                co_await done.wait();
            });
        }
        off_thread = wrong_thread;
    });
    EXPECT_EQ(off_thread, 0);
    std::vector<int> expected(per_producer);
    for (int i = 0; i < per_producer; ++i) {
        expected[static_cast<std::size_t>(i)] = i;
    }
    for (int p = 0; p < producers; ++p) {
        EXPECT_EQ(seen[static_cast<std::size_t>(p)], expected);
    }
}

}  // namespace
