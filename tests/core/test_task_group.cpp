// Task groups: children run concurrently, the parent waits for all of them, a failure
// cancels the rest and surfaces in an exception_group, and task_group::start hands back a
// value once the child reports it is ready.
#include <anyio/anyio.hpp>

#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using anyio::cancel_scope;
using anyio_test::run_autojump;

constexpr anyio::clock::time_point never = anyio::clock::time_point::max();

// Sets a flag when destroyed: observes that a task's frame unwound.
struct set_on_exit {
    explicit set_on_exit(bool* f) : flag(f) {}
    set_on_exit(const set_on_exit&) = delete;
    set_on_exit& operator=(const set_on_exit&) = delete;
    ~set_on_exit() { *flag = true; }
    bool* flag;
};

// The dynamic type of a stored exception, for messages and comparisons.
std::string type_of(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const anyio::exception_group&) {
        return "exception_group";
    } catch (const std::invalid_argument&) {
        return "invalid_argument";
    } catch (const std::logic_error&) {
        return "logic_error";
    } catch (const std::runtime_error&) {
        return "runtime_error";
    } catch (const anyio::cancelled&) {
        return "cancelled";
    } catch (int) {
        return "int";
    } catch (...) {
        return "other";
    }
}

std::vector<std::string> types_of(const anyio::exception_group& group) {
    std::vector<std::string> types;
    for (const auto& error : group.exceptions()) {
        types.push_back(type_of(error));
    }
    return types;
}

std::string what_of(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "";
    }
}

// ---------------------------------------------------------------------------------------
// running children

TEST(TaskGroup, ChildrenRunConcurrentlyAndTheParentWaitsForAll) {
    // Each child waits for the other: only concurrent children can finish.
    std::vector<std::string> log;
    bool a_done_at_exit = false;
    bool b_done_at_exit = false;
    run_autojump([&]() -> anyio::task<> {
        anyio::event a_ready;
        anyio::event b_ready;
        bool a_done = false;
        bool b_done = false;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                log.emplace_back("a start");
                a_ready.set();
                co_await b_ready.wait();
                co_await anyio::sleep(5ms);
                log.emplace_back("a end");
                a_done = true;
            });
            tg.start_soon([&]() -> anyio::task<> {
                log.emplace_back("b start");
                b_ready.set();
                co_await a_ready.wait();
                co_await anyio::sleep(15ms);
                log.emplace_back("b end");
                b_done = true;
            });
            log.emplace_back("body end");
            co_return;
        });
        log.emplace_back("group end");
        a_done_at_exit = a_done;
        b_done_at_exit = b_done;
    });
    EXPECT_TRUE(a_done_at_exit);
    EXPECT_TRUE(b_done_at_exit);
    const std::vector<std::string> expected = {"body end", "a start", "b start",
                                               "a end",    "b end",   "group end"};
    EXPECT_EQ(log, expected);
}

TEST(TaskGroup, StartSoonIsNotACheckpointAndTheChildRunsNextRound) {
    bool started_right_after = true;
    bool started_after_checkpoint = false;
    run_autojump([&]() -> anyio::task<> {
        bool started = false;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                started = true;
                co_return;
            });
            started_right_after = started;
            co_await anyio::checkpoint();
            started_after_checkpoint = started;
        });
    });
    EXPECT_FALSE(started_right_after);
    EXPECT_TRUE(started_after_checkpoint);
}

TEST(TaskGroup, StartSoonCopiesItsArguments) {
    std::string by_value;
    std::string by_const_ref;
    std::string from_temporary;
    std::string from_literal;
    run_autojump([&]() -> anyio::task<> {
        auto take_value = [](std::string s, std::string* out) -> anyio::task<> {
            co_await anyio::checkpoint();
            *out = s;
        };
        // Binds to the copy held by the child, not to the caller's string.
        auto take_cref = [](const std::string& s, std::string* out) -> anyio::task<> {
            co_await anyio::checkpoint();
            co_await anyio::sleep(1ms);
            *out = s;
        };
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            std::string arg = "original";
            tg.start_soon(take_value, arg, &by_value);
            tg.start_soon(take_cref, arg, &by_const_ref);
            {
                std::string temporary = "temporary, long enough to live on the heap";
                tg.start_soon(take_cref, temporary, &from_temporary);
                temporary.assign("clobbered");
            }  // destroyed before the children run
            tg.start_soon(take_cref, std::string("literal"), &from_literal);
            arg = "modified by the caller after start_soon";
            co_return;
        });
    });
    EXPECT_EQ(by_value, "original");
    EXPECT_EQ(by_const_ref, "original");
    EXPECT_EQ(from_temporary, "temporary, long enough to live on the heap");
    EXPECT_EQ(from_literal, "literal");
}

// A plain `copied` to `bump` would not compile (tests/compile_fail/start_soon_ref_param.cpp):
// the child's own copy cannot bind to int&.
TEST(TaskGroup, StdRefShares) {
    int shared = 0;
    run_autojump([&]() -> anyio::task<> {
        auto bump = [](int& n) -> anyio::task<> {
            co_await anyio::checkpoint();
            ++n;
        };
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int i = 0; i < 3; ++i) {
                tg.start_soon(bump, std::ref(shared));
            }
            co_return;
        });
    });
    EXPECT_EQ(shared, 3);
}

// ---------------------------------------------------------------------------------------
// failures

TEST(TaskGroup, AFailingChildCancelsItsSiblings) {
    bool sibling_saw_cancelled = false;
    bool sibling_unwound = false;
    bool sibling_finished = false;
    bool body_saw_cancelled = false;
    bool unwound_before_group_threw = false;
    std::optional<std::vector<std::string>> types;
    std::string message;
    run_autojump([&]() -> anyio::task<> {
        try {
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon([&]() -> anyio::task<> {
                    const set_on_exit guard(&sibling_unwound);
                    try {
                        co_await anyio::sleep(1h);
                        sibling_finished = true;
                    } catch (const anyio::cancelled&) {
                        sibling_saw_cancelled = true;
                        throw;
                    }
                });
                tg.start_soon([]() -> anyio::task<> {
                    co_await anyio::sleep(1ms);
                    throw std::runtime_error("child failed");
                });
                try {
                    co_await anyio::sleep(1h);
                } catch (const anyio::cancelled&) {
                    body_saw_cancelled = true;
                    throw;
                }
            });
        } catch (const anyio::exception_group& group) {
            unwound_before_group_threw = sibling_unwound;
            types = types_of(group);
            if (group.size() == 1) message = what_of(group.exceptions()[0]);
        }
    });
    EXPECT_TRUE(sibling_saw_cancelled);
    EXPECT_TRUE(sibling_unwound);
    EXPECT_FALSE(sibling_finished);
    EXPECT_TRUE(body_saw_cancelled);
    EXPECT_TRUE(unwound_before_group_threw);
    ASSERT_TRUE(types.has_value()) << "the group did not throw exception_group";
    EXPECT_EQ(*types, std::vector<std::string>{"runtime_error"});
    EXPECT_EQ(message, "child failed");
}

TEST(TaskGroup, EveryFailureIsCollectedAndCancellationsAreNot) {
    std::optional<std::vector<std::string>> types;
    std::string what;
    bool sleeper_cancelled = false;
    run_autojump([&]() -> anyio::task<> {
        try {
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon([]() -> anyio::task<> {
                    throw std::runtime_error("first");
                    co_return;
                });
                tg.start_soon([]() -> anyio::task<> {
                    throw std::logic_error("second");
                    co_return;
                });
                tg.start_soon([]() -> anyio::task<> {
                    throw 42;  // not a std::exception
                    co_return;
                });
                tg.start_soon([&]() -> anyio::task<> {
                    try {
                        co_await anyio::sleep(1h);
                    } catch (const anyio::cancelled&) {
                        sleeper_cancelled = true;
                        throw;
                    }
                });
                co_return;
            });
        } catch (const anyio::exception_group& group) {
            types = types_of(group);
            what = group.what();
        }
    });
    ASSERT_TRUE(types.has_value()) << "the group did not throw exception_group";
    // In the order they happened.
    EXPECT_EQ(*types, (std::vector<std::string>{"runtime_error", "logic_error", "int"}));
    EXPECT_TRUE(sleeper_cancelled);
    EXPECT_NE(what.find("3 failures"), std::string::npos) << what;
    EXPECT_NE(what.find("first"), std::string::npos) << what;
    EXPECT_NE(what.find("second"), std::string::npos) << what;
}

TEST(TaskGroup, TheBodysExceptionIsCollectedToo) {
    std::optional<std::vector<std::string>> types;
    std::optional<std::vector<std::string>> alone;
    bool child_cancelled = false;
    run_autojump([&]() -> anyio::task<> {
        try {
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon([&]() -> anyio::task<> {
                    try {
                        co_await anyio::sleep(1h);
                    } catch (const anyio::cancelled&) {
                        child_cancelled = true;
                        throw;
                    }
                });
                tg.start_soon([]() -> anyio::task<> {
                    throw std::runtime_error("child");
                    co_return;
                });
                throw std::invalid_argument("body");
                co_return;
            });
        } catch (const anyio::exception_group& group) {
            types = types_of(group);
        }
        try {
            co_await anyio::with_task_group([](anyio::task_group&) -> anyio::task<> {
                co_await anyio::checkpoint();
                throw std::invalid_argument("body alone");
            });
        } catch (const anyio::exception_group& group) {
            alone = types_of(group);
        }
    });
    ASSERT_TRUE(types.has_value()) << "the group did not throw exception_group";
    EXPECT_EQ(*types, (std::vector<std::string>{"invalid_argument", "runtime_error"}));
    EXPECT_TRUE(child_cancelled);
    ASSERT_TRUE(alone.has_value());
    EXPECT_EQ(*alone, std::vector<std::string>{"invalid_argument"});
}

// ---------------------------------------------------------------------------------------
// cancellation

TEST(TaskGroup, CancellingTheGroupsScopeCancelsEveryChild) {
    int children_cancelled = 0;
    bool body_continued_after_cancel = false;
    bool body_reached_end = false;
    bool after_group = false;
    run_autojump([&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int i = 0; i < 3; ++i) {
                tg.start_soon([&]() -> anyio::task<> {
                    try {
                        co_await anyio::sleep(1h);
                    } catch (const anyio::cancelled&) {
                        ++children_cancelled;
                        throw;
                    }
                });
            }
            co_await anyio::sleep(1ms);
            tg.cancel_scope().cancel();
            body_continued_after_cancel = true;  // cancel() is not a checkpoint
            co_await anyio::checkpoint();
            body_reached_end = true;
        });
        after_group = true;
        co_await anyio::checkpoint();  // the cancellation stayed inside the group
    });
    EXPECT_EQ(children_cancelled, 3);
    EXPECT_TRUE(body_continued_after_cancel);
    EXPECT_FALSE(body_reached_end);
    EXPECT_TRUE(after_group);
}

TEST(TaskGroup, AChildCanCancelTheGroup) {
    // The "signal handler task" pattern: a child gets the group's scope by reference.
    bool worker_cancelled = false;
    bool returned_normally = false;
    run_autojump([&]() -> anyio::task<> {
        auto canceller = [](cancel_scope& scope) -> anyio::task<> {
            co_await anyio::sleep(5ms);
            scope.cancel();
        };
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon(canceller, std::ref(tg.cancel_scope()));
            try {
                co_await anyio::sleep(1h);  // "the application"
            } catch (const anyio::cancelled&) {
                worker_cancelled = true;
                throw;
            }
        });
        returned_normally = true;
    });
    EXPECT_TRUE(worker_cancelled);
    EXPECT_TRUE(returned_normally);
}

// Shared by the two "outer scope cancelled while the parent waits" tests: three children
// park; once they all are, a task outside cancels `outer`; each child then needs a
// shielded 10 ms of cleanup.
struct outer_cancel_fixture {
    cancel_scope outer;
    anyio::event all_parked;
    int parked = 0;
    int cleaned = 0;
    int cleaned_when_group_returned = -1;
    bool after_group = false;

    anyio::task<> child() {
        try {
            if (++parked == 3) all_parked.set();
            co_await anyio::sleep(1h);
            co_return;
        } catch (const anyio::cancelled&) {
        }
        // Cleanup that must wait (no co_await inside a handler): shielded from the
        // cancellation, then let it continue.
        cancel_scope cleanup(never, true);
        co_await cleanup.run([this]() -> anyio::task<> {
            co_await anyio::sleep(10ms);
            ++cleaned;
        });
        throw anyio::cancelled{};
    }

    anyio::task<> scenario() {
        co_await anyio::with_task_group([this](anyio::task_group& top) -> anyio::task<> {
            top.start_soon([this]() -> anyio::task<> {
                co_await outer.run([this]() -> anyio::task<> {
                    try {
                        co_await anyio::with_task_group(
                            [this](anyio::task_group& tg) -> anyio::task<> {
                                for (int i = 0; i < 3; ++i) {
                                    tg.start_soon([this]() -> anyio::task<> { co_await child(); });
                                }
                                co_return;  // the parent now waits in the group
                            });
                    } catch (const anyio::cancelled&) {
                        cleaned_when_group_returned = cleaned;
                        throw;
                    }
                    cleaned_when_group_returned = cleaned;
                    after_group = true;
                });
            });
            co_await all_parked.wait();
            co_await anyio::checkpoint();
            outer.cancel();
        });
    }
};

TEST(TaskGroup, OuterCancelWhileWaitingCancelsChildrenAndWaitsForTheirCleanup) {
    outer_cancel_fixture f;
    run_autojump([&]() -> anyio::task<> { co_await f.scenario(); });
    EXPECT_EQ(f.cleaned, 3);
    EXPECT_EQ(f.cleaned_when_group_returned, 3)
        << "the group returned before its children finished their cleanup";
    EXPECT_TRUE(f.outer.cancel_called());
}

TEST(TaskGroup, OuterCancelWhileWaitingPropagatesOutOfTheGroup) {
    // Trio (nursery __aexit__) and AnyIO (TaskGroup.__aexit__) raise the cancellation
    // out of the group once the children are done: code right after the group, inside the
    // cancelled scope, must not run.
    outer_cancel_fixture f;
    run_autojump([&]() -> anyio::task<> { co_await f.scenario(); });
    EXPECT_EQ(f.cleaned, 3);
    EXPECT_FALSE(f.after_group) << "code after the group ran inside a cancelled scope";
    EXPECT_TRUE(f.outer.cancelled_caught());
}

// The body itself is blocked when the outer scope is cancelled: the body's `cancelled`
// belongs to the outer scope, so the group must let it out once the children are done,
// whether or not they are still unwinding when the body gets there.
struct body_cancel_result {
    bool body_cancelled = false;
    int children_cancelled = 0;
    int children_cleaned = 0;
    bool after_group = false;
    bool outer_caught = false;
};

body_cancel_result run_body_cancel_scenario(bool children_clean_up_slowly) {
    body_cancel_result r;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope outer;
        co_await outer.run([&]() -> anyio::task<> {
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                for (int i = 0; i < 2; ++i) {
                    tg.start_soon([&]() -> anyio::task<> {
                        try {
                            co_await anyio::sleep(1h);
                            co_return;
                        } catch (const anyio::cancelled&) {
                            ++r.children_cancelled;
                        }
                        if (children_clean_up_slowly) {
                            cancel_scope cleanup(never, true);
                            co_await cleanup.run(
                                []() -> anyio::task<> { co_await anyio::sleep(5ms); });
                        }
                        ++r.children_cleaned;
                        throw anyio::cancelled{};
                    });
                }
                tg.start_soon([&]() -> anyio::task<> {
                    co_await anyio::sleep(5ms);
                    outer.cancel();
                });
                try {
                    co_await anyio::sleep(1h);
                } catch (const anyio::cancelled&) {
                    r.body_cancelled = true;
                    throw;
                }
            });
            r.after_group = true;
        });
        r.outer_caught = outer.cancelled_caught();
    });
    return r;
}

TEST(TaskGroup, OuterCancelOfAWaitingBodyPropagatesOutOfTheGroup) {
    const body_cancel_result r = run_body_cancel_scenario(false);
    EXPECT_TRUE(r.body_cancelled);
    EXPECT_EQ(r.children_cancelled, 2);
    EXPECT_EQ(r.children_cleaned, 2);
    EXPECT_FALSE(r.after_group) << "code after the group ran inside a cancelled scope";
    EXPECT_TRUE(r.outer_caught);
}

TEST(TaskGroup, OuterCancelOfAWaitingBodyPropagatesWhileChildrenStillUnwind) {
    const body_cancel_result r = run_body_cancel_scenario(true);
    EXPECT_TRUE(r.body_cancelled);
    EXPECT_EQ(r.children_cancelled, 2);
    EXPECT_EQ(r.children_cleaned, 2);
    EXPECT_FALSE(r.after_group) << "code after the group ran inside a cancelled scope";
    EXPECT_TRUE(r.outer_caught);
}

TEST(TaskGroup, DeadlineAroundAGroupIsReportedAsATimeout) {
    // A deadline that expires while the parent waits in a group cuts the body short:
    // move_on_after must report it (false) and fail_after must throw timeout_error.
    std::optional<bool> moved_on;
    bool timed_out = false;
    bool fail_after_returned = false;
    int children_cancelled = 0;
    run_autojump([&]() -> anyio::task<> {
        auto group_of_sleepers = [&]() -> anyio::task<> {
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                for (int i = 0; i < 2; ++i) {
                    tg.start_soon([&]() -> anyio::task<> {
                        try {
                            co_await anyio::sleep(1h);
                        } catch (const anyio::cancelled&) {
                            ++children_cancelled;
                            throw;
                        }
                    });
                }
                co_return;
            });
        };
        moved_on = co_await anyio::move_on_after(10ms, group_of_sleepers);
        try {
            co_await anyio::fail_after(10ms, group_of_sleepers);
            fail_after_returned = true;
        } catch (const anyio::timeout_error&) {
            timed_out = true;
        }
    });
    EXPECT_EQ(children_cancelled, 4);
    ASSERT_TRUE(moved_on.has_value());
    EXPECT_FALSE(*moved_on) << "move_on_after reported a body cut short by its deadline "
                               "as finished";
    EXPECT_TRUE(timed_out);
    EXPECT_FALSE(fail_after_returned) << "fail_after returned normally after its deadline "
                                         "cut the body short";
}

// ---------------------------------------------------------------------------------------
// task_group::start

TEST(TaskGroupStart, ReturnsTheStartedValueBeforeTheChildFinishes) {
    std::optional<int> value;
    bool finished_when_started = true;
    bool finished_at_end = false;
    std::string with_args;
    run_autojump([&]() -> anyio::task<> {
        anyio::event release;
        bool child_finished = false;
        auto server = [&](anyio::task_status<int>& status) -> anyio::task<> {
            co_await anyio::checkpoint();
            status.started(42);
            co_await release.wait();  // keeps running after started()
            child_finished = true;
        };
        auto named = [](anyio::task_status<std::string>& status, std::string name,
                        int port) -> anyio::task<> {
            co_await anyio::sleep(1ms);
            status.started(name + ":" + std::to_string(port));
        };
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            value = co_await tg.start(server);
            finished_when_started = child_finished;
            with_args = co_await tg.start(named, std::string("localhost"), 8080);
            release.set();
        });
        finished_at_end = child_finished;
    });
    EXPECT_EQ(value, 42);
    EXPECT_FALSE(finished_when_started);
    EXPECT_TRUE(finished_at_end);
    EXPECT_EQ(with_args, "localhost:8080");
}

anyio::task<> start_void_child(anyio::task_status<>& status, bool* ready, bool* finished) {
    co_await anyio::sleep(1ms);
    *ready = true;
    status.started();
    co_await anyio::sleep(5ms);
    *finished = true;
}

TEST(TaskGroupStart, VoidStart) {
    bool ready_when_started = false;
    bool finished_when_started = true;
    bool finished_at_end = false;
    run_autojump([&]() -> anyio::task<> {
        bool ready = false;
        bool finished = false;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            co_await tg.start(start_void_child, &ready, &finished);
            ready_when_started = ready;
            finished_when_started = finished;
        });
        finished_at_end = finished;
    });
    EXPECT_TRUE(ready_when_started);
    EXPECT_FALSE(finished_when_started);
    EXPECT_TRUE(finished_at_end);
}

TEST(TaskGroupStart, ChildFailingBeforeStartedThrowsFromStartOnly) {
    std::string error;
    bool sibling_done = false;
    bool sibling_cancelled = false;
    bool body_continued = false;
    bool group_threw = false;
    run_autojump([&]() -> anyio::task<> {
        try {
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon([&]() -> anyio::task<> {
                    try {
                        co_await anyio::sleep(20ms);
                        sibling_done = true;
                    } catch (const anyio::cancelled&) {
                        sibling_cancelled = true;
                        throw;
                    }
                });
                try {
                    (void)co_await tg.start([](anyio::task_status<int>&) -> anyio::task<> {
                        co_await anyio::checkpoint();
                        throw std::runtime_error("bind failed");
                    });
                } catch (const std::runtime_error& e) {
                    error = e.what();
                }
                co_await anyio::sleep(1ms);  // the group is not cancelled
                body_continued = true;
            });
        } catch (const anyio::exception_group&) {
            group_threw = true;
        }
    });
    EXPECT_EQ(error, "bind failed");
    EXPECT_TRUE(sibling_done);
    EXPECT_FALSE(sibling_cancelled);
    EXPECT_TRUE(body_continued);
    EXPECT_FALSE(group_threw);
}

TEST(TaskGroupStart, ChildReturningWithoutStartedIsARuntimeError) {
    bool runtime_error = false;
    bool group_error = false;
    bool body_continued = false;
    run_autojump([&]() -> anyio::task<> {
        try {
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                try {
                    co_await tg.start([](anyio::task_status<>&) -> anyio::task<> {
                        co_await anyio::checkpoint();
                    });
                } catch (const anyio::exception_group&) {
                    group_error = true;
                } catch (const std::runtime_error&) {
                    runtime_error = true;
                }
                co_await anyio::checkpoint();
                body_continued = true;
            });
        } catch (const anyio::exception_group&) {
            group_error = true;
        }
    });
    EXPECT_TRUE(runtime_error);
    EXPECT_FALSE(group_error);
    EXPECT_TRUE(body_continued);
}

TEST(TaskGroupStart, ChildFailingAfterStartedFailsTheGroup) {
    std::optional<int> value;
    std::optional<std::vector<std::string>> types;
    run_autojump([&]() -> anyio::task<> {
        try {
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                value = co_await tg.start([](anyio::task_status<int>& status) -> anyio::task<> {
                    status.started(1);
                    co_await anyio::sleep(1ms);
                    throw std::runtime_error("after started");
                });
                co_await anyio::sleep(1h);
            });
        } catch (const anyio::exception_group& group) {
            types = types_of(group);
        }
    });
    EXPECT_EQ(value, 1);
    ASSERT_TRUE(types.has_value());
    EXPECT_EQ(*types, std::vector<std::string>{"runtime_error"});
}

TEST(TaskGroupStart, StartedTwiceIsALogicError) {
    std::optional<std::vector<std::string>> types;
    std::optional<int> value;
    run_autojump([&]() -> anyio::task<> {
        try {
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                value = co_await tg.start([](anyio::task_status<int>& status) -> anyio::task<> {
                    status.started(1);
                    co_await anyio::checkpoint();
                    status.started(2);
                });
            });
        } catch (const anyio::exception_group& group) {
            types = types_of(group);
        }
    });
    EXPECT_EQ(value, 1);
    ASSERT_TRUE(types.has_value());
    EXPECT_EQ(*types, std::vector<std::string>{"logic_error"});
}

TEST(TaskGroupStart, CancellingTheCallerCancelsTheUnstartedChild) {
    bool child_cancelled = false;
    bool start_returned = false;
    bool caller_caught = false;
    bool other_child_done = false;
    run_autojump([&]() -> anyio::task<> {
        cancel_scope caller;
        anyio::event child_parked;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await child_parked.wait();
                caller.cancel();
                co_await anyio::sleep(5ms);
                other_child_done = true;  // the group itself is not cancelled
            });
            co_await caller.run([&]() -> anyio::task<> {
                (void)co_await tg.start([&](anyio::task_status<int>& status) -> anyio::task<> {
                    child_parked.set();
                    try {
                        co_await anyio::sleep(1h);
                    } catch (const anyio::cancelled&) {
                        child_cancelled = true;
                        throw;
                    }
                    status.started(1);
                });
                start_returned = true;
            });
            caller_caught = caller.cancelled_caught();
        });
    });
    EXPECT_TRUE(child_cancelled);
    EXPECT_FALSE(start_returned);
    EXPECT_TRUE(caller_caught);
    EXPECT_TRUE(other_child_done);
}

// ---------------------------------------------------------------------------------------
// nesting

TEST(TaskGroup, NestedGroupsWrapFailures) {
    bool outer_sibling_cancelled = false;
    bool inner_sibling_cancelled = false;
    std::optional<std::vector<std::string>> outer_types;
    std::optional<std::vector<std::string>> inner_types;
    std::string inner_what;
    run_autojump([&]() -> anyio::task<> {
        try {
            co_await anyio::with_task_group([&](anyio::task_group& outer_tg) -> anyio::task<> {
                outer_tg.start_soon([&]() -> anyio::task<> {
                    try {
                        co_await anyio::sleep(1h);
                    } catch (const anyio::cancelled&) {
                        outer_sibling_cancelled = true;
                        throw;
                    }
                });
                outer_tg.start_soon([&]() -> anyio::task<> {
                    co_await anyio::with_task_group(
                        [&](anyio::task_group& inner_tg) -> anyio::task<> {
                            inner_tg.start_soon([&]() -> anyio::task<> {
                                try {
                                    co_await anyio::sleep(1h);
                                } catch (const anyio::cancelled&) {
                                    inner_sibling_cancelled = true;
                                    throw;
                                }
                            });
                            inner_tg.start_soon([]() -> anyio::task<> {
                                co_await anyio::sleep(1ms);
                                throw std::runtime_error("deep");
                            });
                            co_return;
                        });
                });
                co_return;
            });
        } catch (const anyio::exception_group& group) {
            outer_types = types_of(group);
            if (group.size() == 1) {
                try {
                    std::rethrow_exception(group.exceptions()[0]);
                } catch (const anyio::exception_group& inner) {
                    inner_types = types_of(inner);
                    if (inner.size() == 1) inner_what = what_of(inner.exceptions()[0]);
                } catch (...) {
                }
            }
        }
    });
    EXPECT_TRUE(inner_sibling_cancelled);
    EXPECT_TRUE(outer_sibling_cancelled);
    ASSERT_TRUE(outer_types.has_value());
    EXPECT_EQ(*outer_types, std::vector<std::string>{"exception_group"});
    ASSERT_TRUE(inner_types.has_value());
    EXPECT_EQ(*inner_types, std::vector<std::string>{"runtime_error"});
    EXPECT_EQ(inner_what, "deep");
}

TEST(TaskGroup, CancellingAnOuterGroupReachesAnInnerGroupsChildren) {
    int inner_cancelled = 0;
    int inner_finished = 0;
    bool outer_returned = false;
    run_autojump([&]() -> anyio::task<> {
        anyio::event all_parked;
        int parked = 0;
        co_await anyio::with_task_group([&](anyio::task_group& outer_tg) -> anyio::task<> {
            outer_tg.start_soon([&]() -> anyio::task<> {
                co_await anyio::with_task_group([&](anyio::task_group& inner_tg) -> anyio::task<> {
                    for (int i = 0; i < 3; ++i) {
                        inner_tg.start_soon([&]() -> anyio::task<> {
                            try {
                                if (++parked == 3) all_parked.set();
                                co_await anyio::sleep(1h);
                                ++inner_finished;
                            } catch (const anyio::cancelled&) {
                                ++inner_cancelled;
                                throw;
                            }
                        });
                    }
                    co_return;
                });
            });
            co_await all_parked.wait();
            outer_tg.cancel_scope().cancel();
        });
        outer_returned = true;
    });
    EXPECT_EQ(inner_cancelled, 3);
    EXPECT_EQ(inner_finished, 0);
    EXPECT_TRUE(outer_returned);
}

anyio::task<> spawn_tree(anyio::task_group& tg, int depth, int& count) {
    co_await anyio::sleep(1ms);  // spawns happen while the parent waits in the group
    ++count;
    if (depth > 0) {
        tg.start_soon(spawn_tree, std::ref(tg), depth - 1, std::ref(count));
        tg.start_soon(spawn_tree, std::ref(tg), depth - 1, std::ref(count));
    }
}

TEST(TaskGroup, ChildrenCanSpawnIntoTheirOwnGroup) {
    int count = 0;
    int count_when_group_returned = -1;
    run_autojump([&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon(spawn_tree, std::ref(tg), 6, std::ref(count));
            co_return;
        });
        count_when_group_returned = count;
    });
    EXPECT_EQ(count, 127);  // 2^7 - 1
    EXPECT_EQ(count_when_group_returned, 127);
}

}  // namespace
