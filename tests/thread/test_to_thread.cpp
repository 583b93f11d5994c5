// anyio::to_thread::run_sync: results and exceptions cross back, the limiter bounds how many
// run at once, threads are cached, cancellation waits (or abandons), workers block signals.
// Real threads; timeouts are hang guards only.

#include <anyio/anyio.hpp>

#include "support/child_process.hpp"
#include "support/run_helpers.hpp"
#include "thread/thread_helpers.hpp"
#include "thread/worker_pool.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using anyio_test::loop_wait_until;
using anyio_test::run_guarded;
using anyio_test::settle;
using anyio_test::wait_until;

// Worker-side state that outlives the loop (an abandoned worker may finish after it).
struct probe {
    std::atomic<bool> started{false};
    std::atomic<bool> go{false};
    std::atomic<bool> finished{false};
    std::atomic<bool> result_destroyed{false};
};

// A result that reports its destruction: the job holding it has been freed.
struct tracked {
    explicit tracked(std::shared_ptr<probe> p) : owner(std::move(p)) {}
    tracked(tracked&& other) noexcept = default;
    tracked& operator=(tracked&&) = delete;
    ~tracked() {
        if (owner) owner->result_destroyed.store(true);
    }
    std::shared_ptr<probe> owner;
    std::string payload = std::string(4096, 'x');  // heap memory for ASan to watch
};

// Lets every cached worker retire, so a test sees only the threads it causes (also when
// the tests run in one process).
void drain_pool() {
    auto& pool = anyio::detail::worker_pool::instance();
    pool.set_idle_timeout(1ms);
    EXPECT_TRUE(wait_until([&] { return pool.threads() == 0; }));
    pool.set_idle_timeout(10s);
}

// Records how many calls run at once; each blocks until `release`.
struct concurrency_meter {
    std::atomic<int> running{0};
    std::atomic<int> max_running{0};
    std::atomic<int> finished{0};
    std::atomic<bool> release{false};

    void enter_and_block() {
        const int now = running.fetch_add(1) + 1;
        int seen = max_running.load();
        while (now > seen && !max_running.compare_exchange_weak(seen, now)) {
        }
        wait_until([this] { return release.load(); });
        running.fetch_sub(1);
        finished.fetch_add(1);
    }
};

// Starts `calls` run_sync calls (through `options`) in a group and checks that exactly
// `limit` of them run at once before releasing them all.
anyio::task<> expect_bounded(concurrency_meter& meter, int calls, int limit,
                             anyio::to_thread::run_sync_options options) {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        for (int i = 0; i < calls; ++i) {
            tg.start_soon([&meter, options]() -> anyio::task<> {
                co_await anyio::to_thread::run_sync(options, [&meter] { meter.enter_and_block(); });
            });
        }
        co_await loop_wait_until([&] { return meter.running.load() == limit; });
        // The others wait for a token rather than run: give them every chance to show.
        co_await settle();
        std::this_thread::sleep_for(20ms);
        co_await settle();
        EXPECT_EQ(meter.running.load(), limit);
        meter.release.store(true);
    });
    EXPECT_EQ(meter.max_running.load(), limit);
    EXPECT_EQ(meter.finished.load(), calls);
}

}  // namespace

TEST(ToThread, ReturnsTheValue) {
    int got = 0;
    std::string text;
    run_guarded([&]() -> anyio::task<> {
        got = co_await anyio::to_thread::run_sync([](int a, int b) { return a * b; }, 6, 7);
        text = co_await anyio::to_thread::run_sync([] { return std::string("from a worker"); });
    });
    EXPECT_EQ(got, 42);
    EXPECT_EQ(text, "from a worker");
}

TEST(ToThread, ReturnsVoidAndMoveOnlyValues) {
    std::atomic<bool> ran{false};
    std::unique_ptr<int> owned;
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::to_thread::run_sync([&ran] { ran.store(true); });
        owned = co_await anyio::to_thread::run_sync([] { return std::make_unique<int>(5); });
    });
    EXPECT_TRUE(ran.load());
    ASSERT_NE(owned, nullptr);
    EXPECT_EQ(*owned, 5);
}

TEST(ToThread, RethrowsTheExceptionInTheTask) {
    std::string message;
    run_guarded([&]() -> anyio::task<> {
        try {
            co_await anyio::to_thread::run_sync([]() -> int { throw std::runtime_error("boom"); });
        } catch (const std::runtime_error& e) {
            message = e.what();
        }
    });
    EXPECT_EQ(message, "boom");
}

TEST(ToThread, RunsOnAnotherThread) {
    const std::thread::id loop_thread = std::this_thread::get_id();
    std::thread::id worker;
    run_guarded([&]() -> anyio::task<> {
        worker = co_await anyio::to_thread::run_sync([] { return std::this_thread::get_id(); });
    });
    EXPECT_NE(worker, std::thread::id{});
    EXPECT_NE(worker, loop_thread);
}

// Arguments are copied when run_sync is called (the task is lazy); the function gets the
// copies as rvalues, so a move-only one is moved into a by-value parameter.
TEST(ToThread, ArgumentsAreCopiedAtTheCall) {
    std::string got;
    run_guarded([&]() -> anyio::task<> {
        std::string text = "original";
        auto pending = anyio::to_thread::run_sync(
            [](const std::string& s, std::unique_ptr<int> p) { return s + std::to_string(*p); },
            text, std::make_unique<int>(1));
        text = "changed";
        got = co_await std::move(pending);
    });
    EXPECT_EQ(got, "original1");
}

TEST(ToThread, DefaultLimiterAllowsFortyAtOnce) {
    concurrency_meter meter;
    run_guarded([&]() -> anyio::task<> {
        EXPECT_EQ(anyio::to_thread::current_default_thread_limiter().total_tokens(), 40U);
        co_await expect_bounded(meter, 100, 40, {});
        EXPECT_EQ(anyio::to_thread::current_default_thread_limiter().borrowed_tokens(), 0U);
    });
}

TEST(ToThread, CustomLimiterBoundsConcurrency) {
    concurrency_meter meter;
    anyio::capacity_limiter limiter(3);
    run_guarded([&]() -> anyio::task<> {
        co_await expect_bounded(meter, 12, 3, {.limiter = &limiter, .abandon_on_cancel = false});
    });
    EXPECT_EQ(limiter.borrowed_tokens(), 0U);
}

TEST(ToThread, SetTotalTokensChangesTheDefaultLimiter) {
    concurrency_meter meter;
    run_guarded([&]() -> anyio::task<> {
        anyio::to_thread::current_default_thread_limiter().set_total_tokens(5);
        co_await expect_bounded(meter, 20, 5, {});
    });
}

// Each loop has its own default limiter: a new run starts with 40 again.
TEST(ToThread, EachLoopHasItsOwnDefaultLimiter) {
    run_guarded([]() -> anyio::task<> {
        anyio::to_thread::current_default_thread_limiter().set_total_tokens(2);
        co_return;
    });
    std::size_t total = 0;
    run_guarded([&]() -> anyio::task<> {
        total = anyio::to_thread::current_default_thread_limiter().total_tokens();
        co_return;
    });
    EXPECT_EQ(total, 40U);
}

// Calls one after the other reuse one cached thread.
TEST(ToThread, ThreadsAreReused) {
    drain_pool();
    std::set<std::thread::id> ids;
    run_guarded([&]() -> anyio::task<> {
        for (int i = 0; i < 20; ++i)
            ids.insert(
                co_await anyio::to_thread::run_sync([] { return std::this_thread::get_id(); }));
    });
    EXPECT_EQ(ids.size(), 1U);
    EXPECT_EQ(anyio::detail::worker_pool::instance().threads(), 1U);
}

// Idle threads retire after the idle timeout; the pool starts new ones when needed.
TEST(ToThread, IdleThreadsRetire) {
    drain_pool();
    auto& pool = anyio::detail::worker_pool::instance();
    pool.set_idle_timeout(50ms);
    concurrency_meter meter;
    run_guarded([&]() -> anyio::task<> { co_await expect_bounded(meter, 3, 3, {}); });
    EXPECT_EQ(pool.threads(), 3U);
    EXPECT_TRUE(wait_until([&] { return pool.threads() == 0; }));
    int got = 0;
    run_guarded(
        [&]() -> anyio::task<> { got = co_await anyio::to_thread::run_sync([] { return 1; }); });
    EXPECT_EQ(got, 1);
    pool.set_idle_timeout(10s);
}

// Trio's semantics: cancelling the waiting task waits for the function; its result is
// returned, and the next checkpoint raises `cancelled`.
TEST(ToThread, CancellationWaitsForTheFunctionByDefault) {
    probe p;
    int got = 0;
    bool finished_when_resumed = false;
    bool passed_checkpoint = false;
    bool caught = false;
    run_guarded([&]() -> anyio::task<> {
        anyio::cancel_scope scope;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await scope.run([&]() -> anyio::task<> {
                    got = co_await anyio::to_thread::run_sync([&p] {
                        p.started.store(true);
                        wait_until([&p] { return p.go.load(); });
                        p.finished.store(true);
                        return 42;
                    });
                    finished_when_resumed = p.finished.load();
                    co_await anyio::checkpoint();
                    passed_checkpoint = true;
                });
            });
            co_await loop_wait_until([&] { return p.started.load(); });
            scope.cancel();
            co_await settle();
            EXPECT_EQ(got, 0) << "run_sync returned before the function did";
            p.go.store(true);
        });
        caught = scope.cancelled_caught();
    });
    EXPECT_EQ(got, 42);
    EXPECT_TRUE(finished_when_resumed);
    EXPECT_FALSE(passed_checkpoint);
    EXPECT_TRUE(caught);
}

// abandon_on_cancel: cancellation returns at once; the thread finishes later and its
// result is freed safely (ASan watches the payload).
TEST(ToThread, AbandonOnCancelReturnsAtOnce) {
    auto p = std::make_shared<probe>();
    bool returned = false;
    bool finished_at_return = true;
    std::size_t tokens_after = 1;
    run_guarded([&]() -> anyio::task<> {
        anyio::cancel_scope scope;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await scope.run([&]() -> anyio::task<> {
                    // Named first: g++ 12 miscompiles a lambda that captures by copy written
                    // inside a co_await expression (README, g++ 12 pitfalls).
                    auto work = [p] {
                        p->started.store(true);
                        wait_until([&p] { return p->go.load(); });
                        p->finished.store(true);
                        return tracked(p);
                    };
                    [[maybe_unused]] tracked result = co_await anyio::to_thread::run_sync(
                        {.limiter = nullptr, .abandon_on_cancel = true}, work);
                    ADD_FAILURE() << "an abandoned call returned a result";
                });
                returned = true;
                finished_at_return = p->finished.load();
            });
            co_await loop_wait_until([&] { return p->started.load(); });
            scope.cancel();
        });
        tokens_after = anyio::to_thread::current_default_thread_limiter().borrowed_tokens();
        p->go.store(true);
        co_await loop_wait_until([&] { return p->result_destroyed.load(); });
    });
    EXPECT_TRUE(returned);
    EXPECT_FALSE(finished_at_return);
    EXPECT_EQ(tokens_after, 0U) << "an abandoned call keeps its token";
    EXPECT_TRUE(p->finished.load());
}

// The abandoned thread may finish after its loop is gone: its report is dropped safely.
TEST(ToThread, AbandonedThreadOutlivesTheLoop) {
    auto p = std::make_shared<probe>();
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::move_on_after(10ms, [&]() -> anyio::task<> {
            auto work = [p] {  // named first: see AbandonOnCancelReturnsAtOnce
                p->started.store(true);
                wait_until([&p] { return p->go.load(); });
                return tracked(p);
            };
            co_await anyio::to_thread::run_sync({.limiter = nullptr, .abandon_on_cancel = true},
                                                work);
        });
    });
    EXPECT_TRUE(wait_until([&] { return p->started.load(); }));
    p->go.store(true);
    EXPECT_TRUE(wait_until([&] { return p->result_destroyed.load(); }));
}

// Waiting for a token is a cancellable checkpoint: the function then never runs.
TEST(ToThread, CancelWhileWaitingForAToken) {
    anyio::capacity_limiter limiter(1);
    std::atomic<int> runs{0};
    std::atomic<bool> go{false};
    bool second_returned = false;
    bool caught = false;
    run_guarded([&]() -> anyio::task<> {
        const anyio::to_thread::run_sync_options options{.limiter = &limiter,
                                                         .abandon_on_cancel = false};
        anyio::cancel_scope scope;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await anyio::to_thread::run_sync(options, [&] {
                    runs.fetch_add(1);
                    wait_until([&] { return go.load(); });
                });
            });
            co_await loop_wait_until([&] { return runs.load() == 1; });
            tg.start_soon([&]() -> anyio::task<> {
                co_await scope.run([&]() -> anyio::task<> {
                    co_await anyio::to_thread::run_sync(options, [&] { runs.fetch_add(1); });
                    second_returned = true;
                });
            });
            co_await settle();
            scope.cancel();
            co_await settle();
            caught = scope.cancelled_caught();
            go.store(true);
        });
    });
    EXPECT_TRUE(caught);
    EXPECT_FALSE(second_returned);
    EXPECT_EQ(runs.load(), 1);
    EXPECT_EQ(limiter.borrowed_tokens(), 0U);
}

// Inside a cancelled scope the function never starts.
TEST(ToThread, AlreadyCancelledNeverStarts) {
    std::atomic<bool> ran{false};
    bool caught = false;
    run_guarded([&]() -> anyio::task<> {
        anyio::cancel_scope scope;
        scope.cancel();
        co_await scope.run([&]() -> anyio::task<> {
            co_await anyio::to_thread::run_sync([&ran] { ran.store(true); });
        });
        caught = scope.cancelled_caught();
    });
    EXPECT_TRUE(caught);
    EXPECT_FALSE(ran.load());
}

// Workers block every asynchronous signal (not the synchronous faults); the caller's own
// mask is left as it was.
TEST(ToThread, WorkerThreadsBlockAsynchronousSignals) {
    const sigset_t before = anyio_test::blocked_signals();
    sigset_t worker_mask;
    ::sigemptyset(&worker_mask);
    run_guarded([&]() -> anyio::task<> {
        worker_mask =
            co_await anyio::to_thread::run_sync([] { return anyio_test::blocked_signals(); });
    });
    anyio_test::expect_async_signals_blocked(worker_mask);
    const sigset_t after = anyio_test::blocked_signals();
    for (int signo = 1; signo < SIGRTMAX; ++signo)
        EXPECT_EQ(::sigismember(&after, signo), ::sigismember(&before, signo)) << signo;
}

TEST(ToThread, DefaultLimiterOutsideALoopIsALogicError) {
    EXPECT_THROW((void)anyio::to_thread::current_default_thread_limiter(), std::logic_error);
}
