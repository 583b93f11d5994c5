// Trio's cancellation helpers: current_effective_deadline, checkpoint_if_cancelled,
// sleep_forever, the shield option of cancel scopes and of move_on / fail_after, and the
// async cleanup helpers shielded and on_cancelled.
#include <anyio/anyio.hpp>

#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace {

using namespace std::chrono_literals;
using anyio::cancel_scope;
using anyio::clock;
using anyio_test::run_autojump;

constexpr clock::time_point never = clock::time_point::max();
constexpr clock::time_point already = clock::time_point::min();

// ---------------------------------------------------------------------------------------
// current_effective_deadline

TEST(EffectiveDeadline, NoDeadlineIsMax) {
    // run_test's hang guard runs on a thread of its own: it is no deadline.
    clock::time_point at_top{};
    clock::time_point in_plain_scope{};
    run_autojump([&]() -> anyio::task<> {
        at_top = anyio::current_effective_deadline();
        cancel_scope plain;
        co_await plain.run([&]() -> anyio::task<> {
            in_plain_scope = anyio::current_effective_deadline();
            co_return;
        });
    });
    EXPECT_EQ(at_top, never);
    EXPECT_EQ(in_plain_scope, never);
}

TEST(EffectiveDeadline, OutsideATaskIsALogicError) {
    EXPECT_THROW((void)anyio::current_effective_deadline(), std::logic_error);
}

TEST(EffectiveDeadline, IsTheEarliestOfTheEnclosingScopes) {
    clock::time_point outer_deadline{};
    clock::time_point in_outer{};
    clock::time_point under_later_inner{};
    clock::time_point under_earlier_inner{};
    clock::time_point after_inner{};
    clock::time_point moved_earlier{};
    clock::time_point new_deadline{};
    run_autojump([&]() -> anyio::task<> {
        outer_deadline = anyio::current_time() + 30s;
        cancel_scope outer(outer_deadline);
        co_await outer.run([&]() -> anyio::task<> {
            in_outer = anyio::current_effective_deadline();
            cancel_scope later(outer_deadline + 10s);
            co_await later.run([&]() -> anyio::task<> {
                under_later_inner = anyio::current_effective_deadline();
                co_return;
            });
            cancel_scope earlier(outer_deadline - 10s);
            co_await earlier.run([&]() -> anyio::task<> {
                under_earlier_inner = anyio::current_effective_deadline();
                new_deadline = outer_deadline - 15s;
                earlier.set_deadline(new_deadline);
                moved_earlier = anyio::current_effective_deadline();
                co_return;
            });
            after_inner = anyio::current_effective_deadline();
        });
    });
    EXPECT_EQ(in_outer, outer_deadline);
    EXPECT_EQ(under_later_inner, outer_deadline);
    EXPECT_EQ(under_earlier_inner, outer_deadline - 10s);
    EXPECT_EQ(moved_earlier, new_deadline);
    EXPECT_EQ(after_inner, outer_deadline);
}

TEST(EffectiveDeadline, ShieldHidesOuterDeadlines) {
    clock::time_point outer_deadline{};
    clock::time_point shield_without_deadline{};
    clock::time_point shield_with_later_deadline{};
    clock::time_point inside_shield_under_inner{};
    run_autojump([&]() -> anyio::task<> {
        outer_deadline = anyio::current_time() + 30s;  // the earliest outside the shields
        cancel_scope outer(outer_deadline);
        co_await outer.run([&]() -> anyio::task<> {
            cancel_scope bare(anyio::shield);
            co_await bare.run([&]() -> anyio::task<> {
                shield_without_deadline = anyio::current_effective_deadline();
                co_return;
            });
            // Later than the outer deadline, yet it is the one that applies.
            cancel_scope later(outer_deadline + 1h, anyio::shield);
            co_await later.run([&]() -> anyio::task<> {
                shield_with_later_deadline = anyio::current_effective_deadline();
                cancel_scope inner(outer_deadline + 2h);
                co_await inner.run([&]() -> anyio::task<> {
                    inside_shield_under_inner = anyio::current_effective_deadline();
                    co_return;
                });
            });
        });
    });
    EXPECT_EQ(shield_without_deadline, never);
    EXPECT_EQ(shield_with_later_deadline, outer_deadline + 1h);
    EXPECT_EQ(inside_shield_under_inner, outer_deadline + 1h);
}

TEST(EffectiveDeadline, CancelledScopeGivesMin) {
    clock::time_point before_cancel{};
    clock::time_point after_cancel{};
    clock::time_point under_cancelled_outer{};
    clock::time_point behind_shield{};
    clock::time_point cancelled_shield{};
    clock::time_point shield_deadline{};
    run_autojump([&]() -> anyio::task<> {
        cancel_scope outer;
        co_await outer.run([&]() -> anyio::task<> {
            before_cancel = anyio::current_effective_deadline();
            outer.cancel();
            after_cancel = anyio::current_effective_deadline();
            cancel_scope inner(anyio::current_time() + 1h);
            co_await inner.run([&]() -> anyio::task<> {
                under_cancelled_outer = anyio::current_effective_deadline();
                co_return;
            });
            shield_deadline = anyio::current_time() + 1h;
            cancel_scope shielded(shield_deadline, anyio::shield);
            co_await shielded.run([&]() -> anyio::task<> {
                behind_shield = anyio::current_effective_deadline();
                shielded.cancel();  // a shield does not hide the scope's own cancellation
                cancelled_shield = anyio::current_effective_deadline();
                co_return;
            });
        });
    });
    EXPECT_NE(before_cancel, already);
    EXPECT_EQ(after_cancel, already);
    EXPECT_EQ(under_cancelled_outer, already);
    EXPECT_EQ(behind_shield, shield_deadline);
    EXPECT_EQ(cancelled_shield, already);
}

TEST(EffectiveDeadline, TaskGroupChildrenSeeTheDeadlinesAroundTheGroup) {
    clock::time_point deadline{};
    clock::time_point in_child{};
    run_autojump([&]() -> anyio::task<> {
        deadline = anyio::current_time() + 30s;
        cancel_scope scope(deadline);
        co_await scope.run([&]() -> anyio::task<> {
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon([&]() -> anyio::task<> {
                    in_child = anyio::current_effective_deadline();
                    co_return;
                });
                co_return;
            });
        });
    });
    EXPECT_EQ(in_child, deadline);
}

// ---------------------------------------------------------------------------------------
// checkpoint_if_cancelled

TEST(CheckpointIfCancelled, ThrowsOnlyWhenCancelled) {
    bool passed_uncancelled = false;
    int throws = 0;
    bool passed_behind_shield = false;
    bool reached = false;
    bool caught = false;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope scope;
        co_await scope.run([&]() -> anyio::task<> {
            co_await anyio::checkpoint_if_cancelled();
            passed_uncancelled = true;
            scope.cancel();
            co_await anyio::shielded([&]() -> anyio::task<> {
                co_await anyio::checkpoint_if_cancelled();
                passed_behind_shield = true;
            });
            // Level-triggered like every checkpoint: it throws each time.
            for (int i = 0; i < 2; ++i) {
                try {
                    co_await anyio::checkpoint_if_cancelled();
                } catch (const anyio::cancelled&) {
                    ++throws;
                }
            }
            co_await anyio::checkpoint_if_cancelled();
            reached = true;
        });
        caught = scope.cancelled_caught();
    });
    EXPECT_TRUE(passed_uncancelled);
    EXPECT_TRUE(passed_behind_shield);
    EXPECT_EQ(throws, 2);
    EXPECT_FALSE(reached);
    EXPECT_TRUE(caught);
}

TEST(CheckpointIfCancelled, DoesNotLetOtherTasksRun) {
    int turns = 0;
    int turns_before = -1;
    int turns_after_checks = -1;
    int turns_after_checkpoint = -1;
    run_autojump([&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                for (;;) {
                    ++turns;  // one per scheduling turn it gets
                    co_await anyio::checkpoint();
                }
            });
            co_await anyio_test::settle();  // the counter task is running
            turns_before = turns;
            for (int i = 0; i < 100; ++i)
                co_await anyio::checkpoint_if_cancelled();
            turns_after_checks = turns;
            co_await anyio::checkpoint();  // a full checkpoint does let it run: the probe works
            turns_after_checkpoint = turns;
            tg.cancel_scope().cancel();
        });
    });
    EXPECT_GT(turns_before, 0);
    EXPECT_EQ(turns_after_checks, turns_before);
    EXPECT_EQ(turns_after_checkpoint, turns_before + 1);
}

TEST(CheckpointIfCancelled, WorksWithUnlessCancelled) {
    bool uncancelled = false;
    bool cancelled = true;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope scope;
        co_await scope.run([&]() -> anyio::task<> {
            uncancelled = co_await anyio::unless_cancelled(anyio::checkpoint_if_cancelled());
            scope.cancel();
            cancelled = co_await anyio::unless_cancelled(anyio::checkpoint_if_cancelled());
        });
    });
    EXPECT_TRUE(uncancelled);
    EXPECT_FALSE(cancelled);
}

// ---------------------------------------------------------------------------------------
// sleep_forever

TEST(SleepForever, EndsOnlyByCancellation) {
    bool sleeping = false;
    bool returned = false;
    bool woke_cancelled = false;
    bool still_asleep = false;
    std::optional<bool> finished;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope scope;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                finished = co_await scope.run([&]() -> anyio::task<> {
                    sleeping = true;
                    try {
                        co_await anyio::sleep_forever();
                    } catch (const anyio::cancelled&) {
                        woke_cancelled = true;
                        throw;
                    }
                    returned = true;
                });
            });
            co_await anyio_test::settle();
            // Time passing and other tasks running do not end it.
            co_await anyio::sleep(2ms);
            co_await anyio_test::settle();
            still_asleep = sleeping && !finished.has_value();
            scope.cancel();
        });
    });
    EXPECT_TRUE(still_asleep);
    EXPECT_TRUE(woke_cancelled);
    EXPECT_FALSE(returned);
    ASSERT_TRUE(finished.has_value());
    EXPECT_FALSE(*finished);
}

TEST(SleepForever, EndsAtAScopeDeadlineAndWithUnlessCancelled) {
    std::optional<bool> finished;
    clock::time_point deadline{};
    clock::time_point ended{};
    bool slept_through = true;
    run_autojump([&]() -> anyio::task<> {
        deadline = anyio::current_time() + 10ms;
        finished = co_await anyio::move_on_at(
            deadline, []() -> anyio::task<> { co_await anyio::sleep_forever(); });
        ended = anyio::current_time();
        cancel_scope scope;
        co_await scope.run([&]() -> anyio::task<> {
            scope.cancel();
            slept_through = co_await anyio::unless_cancelled(anyio::sleep_forever());
        });
    });
    ASSERT_TRUE(finished.has_value());
    EXPECT_FALSE(*finished);
    EXPECT_EQ(ended, deadline);
    EXPECT_FALSE(slept_through);
}

// ---------------------------------------------------------------------------------------
// the shield option

TEST(Shield, CancelScopeTagConstructors) {
    const clock::time_point deadline = clock::time_point() + 1h;
    const cancel_scope plain;
    const cancel_scope shielded(anyio::shield);
    const cancel_scope shielded_with_deadline(deadline, anyio::shield);
    EXPECT_FALSE(plain.shield());
    EXPECT_TRUE(shielded.shield());
    EXPECT_EQ(shielded.deadline(), never);
    EXPECT_TRUE(shielded_with_deadline.shield());
    EXPECT_EQ(shielded_with_deadline.deadline(), deadline);
}

TEST(Shield, ShieldedMoveOnAfterInsideACancelledScopeCompletes) {
    std::optional<bool> finished;
    std::optional<std::optional<int>> value;
    bool shield_called = true;
    bool shield_caught = true;
    bool throws_after = false;
    bool outer_caught = false;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope outer;
        co_await outer.run([&]() -> anyio::task<> {
            outer.cancel();
            // The body gets the shielded scope it runs in.
            auto body = [&](cancel_scope& s) -> anyio::task<> {
                co_await anyio::sleep(1ms);
                co_await anyio::checkpoint();
                anyio::event ev;
                ev.set();
                co_await ev.wait();
                shield_called = s.cancel_called();
                shield_caught = s.cancelled_caught();
            };
            finished = co_await anyio::move_on_after(1h, anyio::shield, body);
            value = co_await anyio::move_on_at(anyio::current_time() + 1h, anyio::shield,
                                               []() -> anyio::task<int> {
                                                   co_await anyio::sleep(1ms);
                                                   co_return 7;
                                               });
            try {
                co_await anyio::checkpoint();
            } catch (const anyio::cancelled&) {
                throws_after = true;
                throw;
            }
        });
        outer_caught = outer.cancelled_caught();
    });
    ASSERT_TRUE(finished.has_value());
    EXPECT_TRUE(*finished);
    ASSERT_TRUE(value.has_value());
    EXPECT_EQ(*value, 7);
    EXPECT_FALSE(shield_called);
    EXPECT_FALSE(shield_caught);
    EXPECT_TRUE(throws_after);
    EXPECT_TRUE(outer_caught);
}

TEST(Shield, ShieldedMoveOnAfterStillTimesOutInsideACancelledScope) {
    std::optional<bool> finished;
    clock::time_point started{};
    clock::time_point ended{};
    bool outer_caught = false;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope outer;
        co_await outer.run([&]() -> anyio::task<> {
            outer.cancel();
            started = anyio::current_time();
            finished = co_await anyio::move_on_after(
                10ms, anyio::shield, []() -> anyio::task<> { co_await anyio::sleep(1h); });
            ended = anyio::current_time();
            co_await anyio::checkpoint();
        });
        outer_caught = outer.cancelled_caught();
    });
    ASSERT_TRUE(finished.has_value());
    EXPECT_FALSE(*finished);
    EXPECT_EQ(ended - started, 10ms);
    EXPECT_TRUE(outer_caught);
}

TEST(Shield, ShieldedFailAfterInsideACancelledScope) {
    int value = 0;
    bool timed_out = false;
    bool at_timed_out = false;
    bool outer_caught = false;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope outer;
        co_await outer.run([&]() -> anyio::task<> {
            outer.cancel();
            value = co_await anyio::fail_after(1h, anyio::shield, []() -> anyio::task<int> {
                co_await anyio::sleep(1ms);
                co_return 5;
            });
            try {
                co_await anyio::fail_after(10ms, anyio::shield,
                                           []() -> anyio::task<> { co_await anyio::sleep(1h); });
            } catch (const anyio::timeout_error&) {
                timed_out = true;
            }
            try {
                co_await anyio::fail_at(anyio::current_time() + 10ms, anyio::shield,
                                        []() -> anyio::task<> { co_await anyio::sleep(1h); });
            } catch (const anyio::timeout_error&) {
                at_timed_out = true;
            }
            co_await anyio::checkpoint();
        });
        outer_caught = outer.cancelled_caught();
    });
    EXPECT_EQ(value, 5);
    EXPECT_TRUE(timed_out);
    EXPECT_TRUE(at_timed_out);
    EXPECT_TRUE(outer_caught);
}

TEST(Shield, OuterCancelWhileWaitingDoesNotReachAShieldedMoveOn) {
    bool woke_early = false;
    std::optional<bool> finished;
    bool throws_after = false;
    bool outer_caught = false;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope outer;
        anyio::event parked;
        anyio::event go;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await outer.run([&]() -> anyio::task<> {
                    auto wait_for_go = [&]() -> anyio::task<> {
                        parked.set();
                        co_await go.wait();
                    };
                    finished = co_await anyio::move_on_after(1h, anyio::shield, wait_for_go);
                    try {
                        co_await anyio::checkpoint();
                    } catch (const anyio::cancelled&) {
                        throws_after = true;
                        throw;
                    }
                });
            });
            co_await parked.wait();
            outer.cancel();
            co_await anyio_test::settle();
            woke_early = finished.has_value();
            go.set();
        });
        outer_caught = outer.cancelled_caught();
    });
    EXPECT_FALSE(woke_early);
    ASSERT_TRUE(finished.has_value());
    EXPECT_TRUE(*finished);
    EXPECT_TRUE(throws_after);
    EXPECT_TRUE(outer_caught);
}

// ---------------------------------------------------------------------------------------
// shielded

TEST(Shielded, RunsAwaitsInsideACancelledScopeAndReturnsTheValue) {
    int value = 0;
    bool void_done = false;
    bool throws_after = false;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope outer;
        co_await outer.run([&]() -> anyio::task<> {
            outer.cancel();
            value = co_await anyio::shielded([]() -> anyio::task<int> {
                co_await anyio::sleep(1ms);
                co_return 3;
            });
            co_await anyio::shielded([&]() -> anyio::task<> {
                co_await anyio::checkpoint();
                void_done = true;
            });
            try {
                co_await anyio::checkpoint();
            } catch (const anyio::cancelled&) {
                throws_after = true;
                throw;
            }
        });
    });
    EXPECT_EQ(value, 3);
    EXPECT_TRUE(void_done);
    EXPECT_TRUE(throws_after);
}

// ---------------------------------------------------------------------------------------
// on_cancelled: async cleanup after a cancellation

TEST(OnCancelled, RunsAsyncCleanupAfterCancellationAndRethrows) {
    std::string peer_got;
    bool body_cancelled = false;
    bool after_on_cancelled = false;
    bool caught = false;
    run_autojump([&]() -> anyio::task<> {
        // An unbuffered stream: the cleanup's send waits for the peer to take the item.
        // Named members, not a structured binding: clang 14 cannot capture bindings.
        auto stream = anyio::create_memory_object_stream<std::string>(0);
        auto& send = stream.first;
        auto& receive = stream.second;
        cancel_scope scope;
        anyio::event parked;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> { peer_got = co_await receive.receive(); });
            tg.start_soon([&]() -> anyio::task<> {
                co_await scope.run([&]() -> anyio::task<> {
                    auto body = [&]() -> anyio::task<> {
                        parked.set();
                        try {
                            co_await anyio::sleep_forever();
                        } catch (const anyio::cancelled&) {
                            body_cancelled = true;
                            throw;
                        }
                    };
                    auto say_goodbye = [&]() -> anyio::task<> { co_await send.send("bye"); };
                    co_await anyio::on_cancelled(body, say_goodbye);
                    after_on_cancelled = true;
                });
            });
            co_await parked.wait();
            scope.cancel();
        });
        caught = scope.cancelled_caught();
    });
    EXPECT_TRUE(body_cancelled);
    EXPECT_EQ(peer_got, "bye");
    EXPECT_FALSE(after_on_cancelled);
    EXPECT_TRUE(caught);
}

TEST(OnCancelled, NoCancellationNoCleanup) {
    int value = 0;
    bool void_done = false;
    int cleanups = 0;
    bool other_error = false;
    run_autojump([&]() -> anyio::task<> {
        auto cleanup = [&]() -> anyio::task<> {
            ++cleanups;
            co_return;
        };
        value = co_await anyio::on_cancelled(
            []() -> anyio::task<int> {
                co_await anyio::checkpoint();
                co_return 4;
            },
            cleanup);
        co_await anyio::on_cancelled(
            [&]() -> anyio::task<> {
                co_await anyio::checkpoint();
                void_done = true;
            },
            1h, cleanup);
        // Other exceptions pass through without the cleanup.
        try {
            co_await anyio::on_cancelled(
                []() -> anyio::task<> {
                    co_await anyio::checkpoint();
                    throw std::runtime_error("boom");
                },
                cleanup);
        } catch (const std::runtime_error&) {
            other_error = true;
        }
    });
    EXPECT_EQ(value, 4);
    EXPECT_TRUE(void_done);
    EXPECT_EQ(cleanups, 0);
    EXPECT_TRUE(other_error);
}

TEST(OnCancelled, CleanupTimeoutCutsItShortAndStillRethrowsCancelled) {
    bool cleanup_started = false;
    bool cleanup_cut = false;
    bool cleanup_finished = false;
    bool timeout_error = false;
    bool caught = false;
    clock::time_point cleanup_start{};
    clock::time_point cleanup_end{};
    bool fast_cleanup_finished = false;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope scope;
        co_await scope.run([&]() -> anyio::task<> {
            auto body = [&]() -> anyio::task<> {
                scope.cancel();
                co_await anyio::checkpoint();
            };
            auto slow_cleanup = [&]() -> anyio::task<> {
                cleanup_started = true;
                cleanup_start = anyio::current_time();
                try {
                    co_await anyio::sleep(1h);
                } catch (const anyio::cancelled&) {
                    cleanup_cut = true;
                    cleanup_end = anyio::current_time();
                    throw;
                }
                cleanup_finished = true;
            };
            try {
                co_await anyio::on_cancelled(body, 10ms, slow_cleanup);
            } catch (const anyio::timeout_error&) {
                timeout_error = true;
            }
        });
        caught = scope.cancelled_caught();

        // A cleanup that ends within its timeout runs to its end.
        cancel_scope second;
        co_await second.run([&]() -> anyio::task<> {
            auto body = [&]() -> anyio::task<> {
                second.cancel();
                co_await anyio::checkpoint();
            };
            auto fast_cleanup = [&]() -> anyio::task<> {
                co_await anyio::sleep(1ms);
                fast_cleanup_finished = true;
            };
            co_await anyio::on_cancelled(body, 1h, fast_cleanup);
        });
    });
    EXPECT_TRUE(cleanup_started);
    EXPECT_TRUE(cleanup_cut);
    EXPECT_FALSE(cleanup_finished);
    EXPECT_EQ(cleanup_end - cleanup_start, 10ms);
    EXPECT_FALSE(timeout_error);
    EXPECT_TRUE(caught);
    EXPECT_TRUE(fast_cleanup_finished);
}

TEST(OnCancelled, AnExceptionFromTheCleanupReplacesCancelled) {
    bool got_runtime_error = false;
    bool called = false;
    bool caught = true;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope scope;
        try {
            co_await scope.run([&]() -> anyio::task<> {
                auto body = [&]() -> anyio::task<> {
                    scope.cancel();
                    co_await anyio::checkpoint();
                };
                auto failing_cleanup = [&]() -> anyio::task<> {
                    co_await anyio::checkpoint();
                    throw std::runtime_error("cleanup failed");
                };
                co_await anyio::on_cancelled(body, failing_cleanup);
            });
        } catch (const std::runtime_error&) {
            got_runtime_error = true;
        }
        called = scope.cancel_called();
        caught = scope.cancelled_caught();
    });
    EXPECT_TRUE(got_runtime_error);
    EXPECT_TRUE(called);
    EXPECT_FALSE(caught);
}

// The hand-written form documented in cancel_scope.hpp, for cleanup that on_cancelled
// does not fit.
TEST(OnCancelled, HandWrittenPatternFromTheHeader) {
    bool cleaned_up = false;
    bool after = false;
    bool caught = false;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope scope;
        co_await scope.run([&]() -> anyio::task<> {
            auto serve = [&]() -> anyio::task<> {
                scope.cancel();
                co_await anyio::sleep_forever();
            };
            auto say_goodbye = [&]() -> anyio::task<> {
                co_await anyio::sleep(1ms);
                cleaned_up = true;
            };
            bool was_cancelled = false;
            try {
                co_await serve();
            } catch (const anyio::cancelled&) {
                was_cancelled = true;
            }
            if (was_cancelled) {
                co_await anyio::move_on_after(2s, anyio::shield, say_goodbye);
                throw anyio::cancelled{};
            }
            after = true;
        });
        caught = scope.cancelled_caught();
    });
    EXPECT_TRUE(cleaned_up);
    EXPECT_FALSE(after);
    EXPECT_TRUE(caught);
}

}  // namespace
