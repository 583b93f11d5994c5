// Cancel scopes with Trio's semantics: level-triggered cancellation, the cancelled scope
// catches its own `cancelled`, shields, deadlines (also moved while tasks wait), and the
// move_on / fail_after shorthands.
#include <anyio/anyio.hpp>

#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>

namespace {

using namespace std::chrono_literals;
using anyio::cancel_scope;
using anyio::clock;
using anyio_test::run_autojump;

constexpr clock::time_point never = clock::time_point::max();

// ---------------------------------------------------------------------------------------
// cancel()

TEST(CancelScope, CancelBeforeEntryCancelsTheFirstCheckpoint) {
    bool called_before_entry = false;
    bool ran_until_checkpoint = false;
    bool reached = false;
    std::optional<bool> finished;
    bool caught = false;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope scope;
        scope.cancel();
        called_before_entry = scope.cancel_called();
        finished = co_await scope.run([&]() -> anyio::task<> {
            ran_until_checkpoint = true;  // cancellation is only seen at checkpoints
            co_await anyio::sleep(1h);
            reached = true;
        });
        caught = scope.cancelled_caught();
    });
    EXPECT_TRUE(called_before_entry);
    EXPECT_TRUE(ran_until_checkpoint);
    EXPECT_FALSE(reached);
    ASSERT_TRUE(finished.has_value());
    EXPECT_FALSE(*finished);
    EXPECT_TRUE(caught);
}

TEST(CancelScope, CancelWakesATaskWaitingInside) {
    bool reached = false;
    bool saw_cancelled = false;
    bool after_scope = false;
    std::optional<bool> finished;
    bool caught = false;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope scope;
        anyio::event parked;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                finished = co_await scope.run([&]() -> anyio::task<> {
                    parked.set();
                    try {
                        co_await anyio::sleep(1h);
                    } catch (const anyio::cancelled&) {
                        saw_cancelled = true;
                        throw;
                    }
                    reached = true;
                });
                after_scope = true;
            });
            co_await parked.wait();  // the child now sleeps inside the scope
            scope.cancel();
        });
        caught = scope.cancelled_caught();
    });
    EXPECT_TRUE(saw_cancelled);
    EXPECT_FALSE(reached);
    EXPECT_TRUE(after_scope);
    ASSERT_TRUE(finished.has_value());
    EXPECT_FALSE(*finished);
    EXPECT_TRUE(caught);
}

TEST(CancelScope, CancellationIsLevelTriggered) {
    // After cancel(), every checkpoint inside the scope throws, not just the first one.
    int throws = 0;
    bool reached_end = false;
    std::optional<bool> finished;
    bool caught = false;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope scope;
        finished = co_await scope.run([&]() -> anyio::task<> {
            scope.cancel();
            try {
                co_await anyio::checkpoint();
            } catch (const anyio::cancelled&) {
                ++throws;
            }
            try {
                co_await anyio::checkpoint();
            } catch (const anyio::cancelled&) {
                ++throws;
            }
            try {
                co_await anyio::sleep(1ms);
            } catch (const anyio::cancelled&) {
                ++throws;
            }
            anyio::event ev;
            ev.set();
            try {
                co_await ev.wait();
            } catch (const anyio::cancelled&) {
                ++throws;
            }
            auto nested = []() -> anyio::task<> { co_await anyio::checkpoint(); };
            try {
                co_await nested();  // an awaited subtask is inside the scope too
            } catch (const anyio::cancelled&) {
                ++throws;
            }
            co_await anyio::checkpoint();  // this one is let out
            reached_end = true;
        });
        caught = scope.cancelled_caught();
    });
    EXPECT_EQ(throws, 5);
    EXPECT_FALSE(reached_end);
    ASSERT_TRUE(finished.has_value());
    EXPECT_FALSE(*finished);
    EXPECT_TRUE(caught);
}

TEST(CancelScope, CatchesItsOwnCancelledAndCodeAfterItRuns) {
    bool after_scope = false;
    bool checkpoint_after_scope = false;
    bool caught = false;
    std::optional<int> value = 0;
    std::optional<int> value_uncancelled;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope scope;
        co_await scope.run([&]() -> anyio::task<> {
            scope.cancel();
            co_await anyio::checkpoint();
        });
        caught = scope.cancelled_caught();
        after_scope = true;
        co_await anyio::checkpoint();  // outside the scope: no longer cancelled
        co_await anyio::sleep(1ms);
        checkpoint_after_scope = true;

        cancel_scope value_scope;
        value = co_await value_scope.run([&]() -> anyio::task<int> {
            value_scope.cancel();
            co_await anyio::checkpoint();
            co_return 1;
        });
        cancel_scope plain;
        value_uncancelled = co_await plain.run([]() -> anyio::task<int> {
            co_await anyio::checkpoint();
            co_return 7;
        });
    });
    EXPECT_TRUE(caught);
    EXPECT_TRUE(after_scope);
    EXPECT_TRUE(checkpoint_after_scope);
    EXPECT_EQ(value, std::nullopt);
    EXPECT_EQ(value_uncancelled, 7);
}

// A cancelled coroutine awaited by another hands `cancelled` on to its awaiter at every
// level (the runtime throws a fresh one there: it keeps no exception_ptr for it), through
// catch-and-rethrow and cleanup; other exceptions thrown while unwinding replace it.
TEST(CancelScope, CancelledCrossesEveryAwaitedTaskAndRunsTheirCleanup) {
    int cleanups = 0;
    bool middle_saw_cancelled = false;
    bool outer_saw_cancelled = false;
    bool after_inner = false;
    bool caught = false;
    std::optional<int> value = 0;
    bool replaced_by_runtime_error = false;
    bool other_caught = true;
    run_autojump([&]() -> anyio::task<> {
        struct cleanup {
            int& count;
            ~cleanup() { ++count; }
        };
        auto inner = [&]() -> anyio::task<int> {
            const cleanup c{cleanups};
            co_await anyio::sleep(1h);
            co_return 1;
        };
        auto middle = [&]() -> anyio::task<int> {
            const cleanup c{cleanups};
            try {
                co_return co_await inner();
            } catch (const anyio::cancelled&) {
                middle_saw_cancelled = true;
                throw;
            }
        };
        auto outer = [&]() -> anyio::task<void> {
            const cleanup c{cleanups};
            try {
                co_await middle();
                after_inner = true;
            } catch (...) {
                outer_saw_cancelled = anyio::detail::current_exception_is_cancelled();
                throw;
            }
        };
        cancel_scope scope;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await anyio_test::settle();
                scope.cancel();
            });
            value = co_await scope.run([&]() -> anyio::task<int> {
                co_await outer();
                co_return 2;
            });
        });
        caught = scope.cancelled_caught();

        cancel_scope other;
        try {
            co_await other.run([&]() -> anyio::task<> {
                other.cancel();
                try {
                    co_await inner();
                } catch (const anyio::cancelled&) {
                    throw std::runtime_error("replaced");
                }
            });
        } catch (const std::runtime_error&) {
            replaced_by_runtime_error = true;
        }
        other_caught = other.cancelled_caught();
    });
    EXPECT_EQ(cleanups, 4);
    EXPECT_TRUE(middle_saw_cancelled);
    EXPECT_TRUE(outer_saw_cancelled);
    EXPECT_FALSE(after_inner);
    EXPECT_TRUE(caught);
    EXPECT_EQ(value, std::nullopt);
    EXPECT_TRUE(replaced_by_runtime_error);
    EXPECT_FALSE(other_caught);
}

TEST(CancelScope, OuterCancelPropagatesThroughAnInnerScope) {
    bool reached = false;
    bool after_inner = false;
    bool inner_called = true;
    bool inner_caught = true;
    bool outer_caught = false;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope outer;
        cancel_scope inner;
        co_await outer.run([&]() -> anyio::task<> {
            co_await inner.run([&]() -> anyio::task<> {
                outer.cancel();
                co_await anyio::checkpoint();
                reached = true;
            });
            after_inner = true;  // the inner scope must not swallow the outer's cancel
        });
        inner_called = inner.cancel_called();
        inner_caught = inner.cancelled_caught();
        outer_caught = outer.cancelled_caught();
    });
    EXPECT_FALSE(reached);
    EXPECT_FALSE(after_inner);
    EXPECT_FALSE(inner_called);
    EXPECT_FALSE(inner_caught);
    EXPECT_TRUE(outer_caught);
}

TEST(CancelScope, CancellingTheInnerScopeLeavesTheOuterRunning) {
    std::optional<bool> inner_finished;
    std::optional<bool> outer_finished;
    bool outer_continued = false;
    bool inner_caught = false;
    bool outer_called = true;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope outer;
        cancel_scope inner;
        outer_finished = co_await outer.run([&]() -> anyio::task<> {
            inner_finished = co_await inner.run([&]() -> anyio::task<> {
                inner.cancel();
                co_await anyio::sleep(1h);
            });
            co_await anyio::checkpoint();
            co_await anyio::sleep(1ms);
            outer_continued = true;
        });
        inner_caught = inner.cancelled_caught();
        outer_called = outer.cancel_called();
    });
    ASSERT_TRUE(inner_finished.has_value());
    EXPECT_FALSE(*inner_finished);
    EXPECT_TRUE(inner_caught);
    ASSERT_TRUE(outer_finished.has_value());
    EXPECT_TRUE(*outer_finished);
    EXPECT_TRUE(outer_continued);
    EXPECT_FALSE(outer_called);
}

TEST(CancelScope, CancelOnlyAffectsTasksInsideTheScope) {
    // A sibling task outside the cancelled scope keeps running to completion.
    bool sibling_done = false;
    bool inside_caught = false;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope scope;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await anyio::sleep(20ms);
                co_await anyio::checkpoint();
                sibling_done = true;
            });
            co_await scope.run([&]() -> anyio::task<> {
                co_await anyio::sleep(1ms);
                scope.cancel();
                co_await anyio::sleep(1h);
            });
            inside_caught = scope.cancelled_caught();
        });
    });
    EXPECT_TRUE(sibling_done);
    EXPECT_TRUE(inside_caught);
}

// ---------------------------------------------------------------------------------------
// shields

TEST(CancelScope, ShieldBlocksOuterCancellation) {
    std::optional<bool> shielded_finished;
    bool shielded_done = false;
    clock::duration slept{};
    bool throws_after_shield = false;
    bool reached = false;
    bool outer_caught = false;
    bool was_shielded = false;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope outer;
        co_await outer.run([&]() -> anyio::task<> {
            outer.cancel();
            cancel_scope shielded(never, true);
            was_shielded = shielded.shield();
            shielded_finished = co_await shielded.run([&]() -> anyio::task<> {
                const auto t0 = anyio::current_time();
                co_await anyio::sleep(5ms);
                slept = anyio::current_time() - t0;
                co_await anyio::checkpoint();
                anyio::event ev;
                ev.set();
                co_await ev.wait();
                shielded_done = true;
            });
            try {
                co_await anyio::checkpoint();
            } catch (const anyio::cancelled&) {
                throws_after_shield = true;
                throw;
            }
            reached = true;
        });
        outer_caught = outer.cancelled_caught();
    });
    EXPECT_TRUE(was_shielded);
    ASSERT_TRUE(shielded_finished.has_value());
    EXPECT_TRUE(*shielded_finished);
    EXPECT_TRUE(shielded_done);
    EXPECT_EQ(slept, 5ms);
    EXPECT_TRUE(throws_after_shield);
    EXPECT_FALSE(reached);
    EXPECT_TRUE(outer_caught);
}

TEST(CancelScope, ShieldDoesNotBlockItsOwnCancellation) {
    std::optional<bool> finished;
    bool caught = false;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope shielded;
        shielded.set_shield(true);
        finished = co_await shielded.run([&]() -> anyio::task<> {
            shielded.cancel();
            co_await anyio::sleep(1h);
        });
        caught = shielded.cancelled_caught();
    });
    ASSERT_TRUE(finished.has_value());
    EXPECT_FALSE(*finished);
    EXPECT_TRUE(caught);
}

TEST(CancelScope, ShieldedScopeDeadlineStillFires) {
    std::optional<bool> shielded_finished;
    bool shielded_caught = false;
    bool outer_caught = false;
    clock::time_point deadline{};
    clock::time_point woke{};
    run_autojump([&]() -> anyio::task<> {
        cancel_scope outer;
        co_await outer.run([&]() -> anyio::task<> {
            outer.cancel();
            cancel_scope shielded(anyio::current_time() + 10ms, true);
            deadline = shielded.deadline();
            shielded_finished = co_await shielded.run([&]() -> anyio::task<> {
                try {
                    co_await anyio::sleep(1h);
                } catch (const anyio::cancelled&) {
                    woke = anyio::current_time();
                    throw;
                }
            });
            shielded_caught = shielded.cancelled_caught();
            co_await anyio::checkpoint();
        });
        outer_caught = outer.cancelled_caught();
    });
    ASSERT_TRUE(shielded_finished.has_value());
    EXPECT_FALSE(*shielded_finished);
    EXPECT_TRUE(shielded_caught);
    EXPECT_EQ(woke, deadline);
    EXPECT_TRUE(outer_caught);
}

TEST(CancelScope, UnshieldingWhileWaitingDeliversTheOuterCancel) {
    bool woke_cancelled = false;
    bool after_inner = false;
    bool inner_caught = true;
    bool outer_caught = false;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope outer;
        cancel_scope inner(never, true);
        anyio::event parked;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await outer.run([&]() -> anyio::task<> {
                    outer.cancel();
                    co_await inner.run([&]() -> anyio::task<> {
                        parked.set();
                        try {
                            co_await anyio::sleep(1h);
                        } catch (const anyio::cancelled&) {
                            woke_cancelled = true;
                            throw;
                        }
                    });
                    after_inner = true;
                });
            });
            co_await parked.wait();  // the child sleeps behind the shield
            co_await anyio::sleep(5ms);
            inner.set_shield(false);
        });
        inner_caught = inner.cancelled_caught();
        outer_caught = outer.cancelled_caught();
    });
    EXPECT_TRUE(woke_cancelled);
    EXPECT_FALSE(after_inner);
    EXPECT_FALSE(inner_caught);  // it was the outer scope's cancellation
    EXPECT_TRUE(outer_caught);
}

TEST(CancelScope, ShieldingWhileWaitingBlocksALaterOuterCancel) {
    bool woke_early = false;
    std::optional<bool> inner_finished;
    bool throws_after_inner = false;
    bool outer_caught = false;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope outer;
        cancel_scope inner;
        anyio::event parked;
        anyio::event go;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await outer.run([&]() -> anyio::task<> {
                    inner_finished = co_await inner.run([&]() -> anyio::task<> {
                        parked.set();
                        co_await go.wait();
                    });
                    try {
                        co_await anyio::checkpoint();
                    } catch (const anyio::cancelled&) {
                        throws_after_inner = true;
                        throw;
                    }
                });
            });
            co_await parked.wait();
            inner.set_shield(true);
            outer.cancel();
            co_await anyio::sleep(10ms);
            woke_early = inner_finished.has_value();
            go.set();
        });
        outer_caught = outer.cancelled_caught();
    });
    EXPECT_FALSE(woke_early);
    ASSERT_TRUE(inner_finished.has_value());
    EXPECT_TRUE(*inner_finished);
    EXPECT_TRUE(throws_after_inner);
    EXPECT_TRUE(outer_caught);
}

// ---------------------------------------------------------------------------------------
// deadlines, move_on_*, fail_*

TEST(Deadline, MoveOnAfterTimesOut) {
    std::optional<bool> finished;
    std::optional<std::optional<int>> value;
    clock::duration elapsed{};
    bool reached = false;
    run_autojump([&]() -> anyio::task<> {
        const auto t0 = anyio::current_time();
        finished = co_await anyio::move_on_after(10ms, [&]() -> anyio::task<> {
            co_await anyio::sleep(1h);
            reached = true;
        });
        elapsed = anyio::current_time() - t0;
        value = co_await anyio::move_on_after(5ms, []() -> anyio::task<int> {
            co_await anyio::sleep(1h);
            co_return 5;
        });
    });
    ASSERT_TRUE(finished.has_value());
    EXPECT_FALSE(*finished);
    EXPECT_FALSE(reached);
    EXPECT_EQ(elapsed, 10ms);
    ASSERT_TRUE(value.has_value());
    EXPECT_EQ(*value, std::nullopt);
}

TEST(Deadline, MoveOnAfterCompletes) {
    std::optional<bool> finished;
    std::optional<std::optional<int>> value;
    std::optional<bool> with_scope;
    bool had_deadline = false;
    run_autojump([&]() -> anyio::task<> {
        finished = co_await anyio::move_on_after(
            1h, []() -> anyio::task<> { co_await anyio::sleep(1ms); });
        value = co_await anyio::move_on_after(1h, []() -> anyio::task<int> {
            co_await anyio::checkpoint();
            co_return 5;
        });
        // A body may take the scope it runs in.
        with_scope = co_await anyio::move_on_after(1h, [&](cancel_scope& s) -> anyio::task<> {
            had_deadline = s.deadline() != never;
            s.cancel();
            co_await anyio::checkpoint();
        });
    });
    ASSERT_TRUE(finished.has_value());
    EXPECT_TRUE(*finished);
    ASSERT_TRUE(value.has_value());
    EXPECT_EQ(*value, 5);
    EXPECT_TRUE(had_deadline);
    ASSERT_TRUE(with_scope.has_value());
    EXPECT_FALSE(*with_scope);
}

TEST(Deadline, FailAfterThrowsTimeoutError) {
    bool timed_out = false;
    bool as_std_exception = false;
    bool reached = false;
    clock::duration elapsed{};
    run_autojump([&]() -> anyio::task<> {
        const auto t0 = anyio::current_time();
        try {
            co_await anyio::fail_after(10ms, [&]() -> anyio::task<> {
                co_await anyio::sleep(1h);
                reached = true;
            });
        } catch (const anyio::timeout_error&) {
            timed_out = true;
        }
        elapsed = anyio::current_time() - t0;
        try {
            (void)co_await anyio::fail_after(5ms, []() -> anyio::task<int> {
                co_await anyio::sleep(1h);
                co_return 1;
            });
        } catch (const std::exception&) {
            as_std_exception = true;
        }
    });
    EXPECT_TRUE(timed_out);
    EXPECT_TRUE(as_std_exception);
    EXPECT_FALSE(reached);
    EXPECT_EQ(elapsed, 10ms);
}

TEST(Deadline, FailAfterReturnsTheValueOnSuccess) {
    int value = 0;
    bool void_done = false;
    run_autojump([&]() -> anyio::task<> {
        value = co_await anyio::fail_after(1h, []() -> anyio::task<int> {
            co_await anyio::sleep(1ms);
            co_return 7;
        });
        co_await anyio::fail_after(1h, [&]() -> anyio::task<> {
            co_await anyio::checkpoint();
            void_done = true;
        });
    });
    EXPECT_EQ(value, 7);
    EXPECT_TRUE(void_done);
}

TEST(Deadline, FailAfterCutShortByAnOuterScopeIsNotATimeout) {
    bool timeout = false;
    bool outer_caught = false;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope outer;
        co_await outer.run([&]() -> anyio::task<> {
            outer.cancel();
            try {
                co_await anyio::fail_after(1h,
                                           []() -> anyio::task<> { co_await anyio::sleep(1h); });
            } catch (const anyio::timeout_error&) {
                timeout = true;
            }
        });
        outer_caught = outer.cancelled_caught();
    });
    EXPECT_FALSE(timeout);
    EXPECT_TRUE(outer_caught);
}

TEST(Deadline, MovedEarlierWhileWaiting) {
    std::optional<bool> finished;
    clock::time_point new_deadline{};
    clock::time_point deadline_read{};
    clock::time_point woke{};
    bool caught = false;
    bool called = false;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope scope(anyio::current_time() + 1h);
        anyio::event parked;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                finished = co_await scope.run([&]() -> anyio::task<> {
                    parked.set();
                    try {
                        co_await anyio::sleep(1h);
                    } catch (const anyio::cancelled&) {
                        woke = anyio::current_time();
                        throw;
                    }
                });
            });
            co_await parked.wait();
            new_deadline = anyio::current_time() + 10ms;
            scope.set_deadline(new_deadline);
            deadline_read = scope.deadline();
        });
        caught = scope.cancelled_caught();
        called = scope.cancel_called();
    });
    EXPECT_EQ(deadline_read, new_deadline);
    ASSERT_TRUE(finished.has_value());
    EXPECT_FALSE(*finished);
    EXPECT_EQ(woke, new_deadline);
    EXPECT_TRUE(caught);
    EXPECT_TRUE(called);
}

TEST(Deadline, MovedEarlierIntoThePastCancelsAtOnce) {
    std::optional<bool> finished;
    bool called_right_away = false;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope scope;
        anyio::event parked;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                finished = co_await scope.run([&]() -> anyio::task<> {
                    parked.set();
                    co_await anyio::sleep(1h);
                });
            });
            co_await parked.wait();
            scope.set_deadline(anyio::current_time() - 1s);
            called_right_away = scope.cancel_called();
        });
    });
    EXPECT_TRUE(called_right_away);
    ASSERT_TRUE(finished.has_value());
    EXPECT_FALSE(*finished);
}

TEST(Deadline, MovedLaterDoesNotFireAtTheOriginalTime) {
    std::optional<bool> finished;
    clock::time_point original{};
    clock::time_point released{};
    bool called = true;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope scope(anyio::current_time() + 20ms);
        original = scope.deadline();
        anyio::event parked;
        anyio::event release;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                finished = co_await scope.run([&]() -> anyio::task<> {
                    parked.set();
                    co_await release.wait();
                });
            });
            co_await parked.wait();
            scope.set_deadline(anyio::current_time() + 1h);
            // Well past the original deadline, the body must still be waiting.
            co_await anyio::sleep_until(original + 30ms);
            released = anyio::current_time();
            release.set();
        });
        called = scope.cancel_called();
    });
    EXPECT_EQ(released, original + 30ms);
    ASSERT_TRUE(finished.has_value());
    EXPECT_TRUE(*finished);
    EXPECT_FALSE(called);
}

TEST(Deadline, MovedLaterFiresAtTheNewTime) {
    std::optional<bool> finished;
    bool past_original_when_cancelled = false;
    clock::time_point new_deadline{};
    clock::time_point woke{};
    run_autojump([&]() -> anyio::task<> {
        cancel_scope scope(anyio::current_time() + 20ms);
        const clock::time_point original = scope.deadline();
        bool past_original = false;
        anyio::event parked;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                finished = co_await scope.run([&]() -> anyio::task<> {
                    parked.set();
                    try {
                        co_await anyio::sleep(1h);
                    } catch (const anyio::cancelled&) {
                        woke = anyio::current_time();
                        past_original_when_cancelled = past_original;
                        throw;
                    }
                });
            });
            co_await parked.wait();
            new_deadline = original + 60ms;
            scope.set_deadline(new_deadline);
            co_await anyio::sleep_until(original + 10ms);
            past_original = true;  // set before the new deadline's timer can fire
        });
    });
    ASSERT_TRUE(finished.has_value());
    EXPECT_FALSE(*finished);
    EXPECT_TRUE(past_original_when_cancelled);
    EXPECT_EQ(woke, new_deadline);
}

TEST(Deadline, InThePastAtEntryCancelsTheFirstCheckpoint) {
    bool before_checkpoint = false;
    bool reached = false;
    std::optional<bool> finished;
    bool called = false;
    bool caught = false;
    std::optional<bool> move_on_at_result;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope scope(anyio::current_time() - 1s);
        finished = co_await scope.run([&]() -> anyio::task<> {
            before_checkpoint = true;
            co_await anyio::checkpoint();
            reached = true;
        });
        called = scope.cancel_called();
        caught = scope.cancelled_caught();
        move_on_at_result = co_await anyio::move_on_at(
            anyio::current_time() - 1s, []() -> anyio::task<> { co_await anyio::checkpoint(); });
    });
    EXPECT_TRUE(before_checkpoint);
    EXPECT_FALSE(reached);
    ASSERT_TRUE(finished.has_value());
    EXPECT_FALSE(*finished);
    EXPECT_TRUE(called);
    EXPECT_TRUE(caught);
    ASSERT_TRUE(move_on_at_result.has_value());
    EXPECT_FALSE(*move_on_at_result);
}

TEST(Deadline, ExitRemovesTheDeadline) {
    // A scope left before its deadline is not cancelled later by its stale timer.
    bool called_after_exit = true;
    bool caught = true;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope scope(anyio::current_time() + 10ms);
        co_await scope.run([]() -> anyio::task<> { co_await anyio::checkpoint(); });
        co_await anyio::sleep(30ms);
        called_after_exit = scope.cancel_called();
        caught = scope.cancelled_caught();
    });
    EXPECT_FALSE(called_after_exit);
    EXPECT_FALSE(caught);
}

// ---------------------------------------------------------------------------------------
// cancel_called / cancelled_caught, exception hierarchy, misuse

TEST(CancelScope, CancelCalledAndCancelledCaught) {
    struct flags {
        bool called;
        bool caught;
    };
    flags fresh{}, cancelled_unentered{}, cancelled_twice{}, by_deadline{}, finished_in_time{},
        cancelled_after_exit{}, cancelled_without_checkpoint{};
    std::optional<bool> no_checkpoint_result;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope a;
        fresh = {a.cancel_called(), a.cancelled_caught()};
        a.cancel();
        cancelled_unentered = {a.cancel_called(), a.cancelled_caught()};
        a.cancel();  // idempotent
        cancelled_twice = {a.cancel_called(), a.cancelled_caught()};

        cancel_scope b(anyio::current_time() + 5ms);
        co_await b.run([]() -> anyio::task<> { co_await anyio::sleep(1h); });
        by_deadline = {b.cancel_called(), b.cancelled_caught()};

        cancel_scope c(anyio::current_time() + 1h);
        co_await c.run([]() -> anyio::task<> { co_await anyio::checkpoint(); });
        finished_in_time = {c.cancel_called(), c.cancelled_caught()};
        c.cancel();  // after the scope was left: recorded, nothing to catch
        cancelled_after_exit = {c.cancel_called(), c.cancelled_caught()};

        // Cancelled, but the body reaches no checkpoint afterwards: it finishes normally.
        cancel_scope d;
        no_checkpoint_result = co_await d.run([&]() -> anyio::task<> {
            co_await anyio::checkpoint();
            d.cancel();
        });
        cancelled_without_checkpoint = {d.cancel_called(), d.cancelled_caught()};
    });
    EXPECT_FALSE(fresh.called);
    EXPECT_FALSE(fresh.caught);
    EXPECT_TRUE(cancelled_unentered.called);
    EXPECT_FALSE(cancelled_unentered.caught);
    EXPECT_TRUE(cancelled_twice.called);
    EXPECT_TRUE(by_deadline.called);
    EXPECT_TRUE(by_deadline.caught);
    EXPECT_FALSE(finished_in_time.called);
    EXPECT_FALSE(finished_in_time.caught);
    EXPECT_TRUE(cancelled_after_exit.called);
    EXPECT_FALSE(cancelled_after_exit.caught);
    EXPECT_TRUE(cancelled_without_checkpoint.called);
    EXPECT_FALSE(cancelled_without_checkpoint.caught);
    ASSERT_TRUE(no_checkpoint_result.has_value());
    EXPECT_TRUE(*no_checkpoint_result);
}

static_assert(!std::is_base_of_v<std::exception, anyio::cancelled>);
static_assert(!std::is_base_of_v<std::exception, anyio::keyboard_interrupt>);
static_assert(std::is_base_of_v<std::exception, anyio::timeout_error>);
static_assert(std::is_base_of_v<std::exception, anyio::exception_group>);

TEST(CancelScope, StdExceptionHandlersDoNotCatchCancelled) {
    bool caught_as_std = false;
    bool reached = false;
    std::optional<bool> finished;
    bool scope_caught = false;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope scope;
        finished = co_await scope.run([&]() -> anyio::task<> {
            scope.cancel();
            try {
                co_await anyio::checkpoint();
            } catch (const std::exception&) {
                caught_as_std = true;
            }
            reached = true;
        });
        scope_caught = scope.cancelled_caught();
    });
    EXPECT_FALSE(caught_as_std);
    EXPECT_FALSE(reached);
    ASSERT_TRUE(finished.has_value());
    EXPECT_FALSE(*finished);
    EXPECT_TRUE(scope_caught);
}

TEST(CancelScope, EnteringTwiceIsALogicError) {
    int runs = 0;
    bool second_entry_refused = false;
    bool reentry_refused = false;
    bool usable_afterwards = false;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope scope;
        co_await scope.run([&]() -> anyio::task<> {
            ++runs;
            co_return;
        });
        try {
            co_await scope.run([&]() -> anyio::task<> {
                ++runs;
                co_return;
            });
        } catch (const std::logic_error&) {
            second_entry_refused = true;
        }

        // Entering a scope from inside itself is refused too.
        cancel_scope active;
        try {
            co_await active.run([&]() -> anyio::task<> {
                co_await active.run([&]() -> anyio::task<> {
                    ++runs;
                    co_return;
                });
            });
        } catch (const std::logic_error&) {
            reentry_refused = true;
        }

        // The refused entries left the task's scope chain intact.
        co_await anyio::checkpoint();
        cancel_scope fresh;
        const bool cut_short = !co_await fresh.run([&]() -> anyio::task<> {
            fresh.cancel();
            co_await anyio::checkpoint();
        });
        co_await anyio::sleep(1ms);
        usable_afterwards = cut_short && fresh.cancelled_caught();
    });
    EXPECT_EQ(runs, 1);
    EXPECT_TRUE(second_entry_refused);
    EXPECT_TRUE(reentry_refused);
    EXPECT_TRUE(usable_afterwards);
}

}  // namespace
