// anyio::from_thread::check_cancelled (AnyIO's from_thread.check_cancelled): in a worker of
// to_thread::run_sync it throws worker_cancelled once the waiting task has been cancelled,
// so a function not abandoned on cancel can stop early; the task then sees `cancelled`,
// which its scope catches. Elsewhere: std::logic_error. Handshakes, never sleeps.

#include <anyio/anyio.hpp>

#include "support/child_process.hpp"
#include "support/run_helpers.hpp"
#include "thread/thread_helpers.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;
using anyio_test::loop_wait_until;
using anyio_test::run_guarded;
using anyio_test::wait_until;

constexpr anyio::to_thread::run_sync_options abandon{.limiter = nullptr, .abandon_on_cancel = true};

constexpr const char* cancelled_text =
    "anyio::from_thread::check_cancelled: the task waiting for this worker thread was cancelled";

// Worker-side state that may outlive the loop (an abandoned worker finishes after it).
struct worker_state {
    std::atomic<bool> checked{false};  // a first check_cancelled() passed
    std::atomic<bool> go{false};       // the loop has cancelled the task
    std::atomic<long> iterations{0};
    std::atomic<bool> done{false};
    std::string caught;  // what(), published by `done`
};

// A worker's check_cancelled() after the task it belongs to was cancelled: returns what it
// caught (rethrowing, so that the worker_cancelled escapes the function).
void check_then_rethrow(worker_state& st) {
    try {
        anyio::from_thread::check_cancelled();
    } catch (const std::exception& e) {
        st.caught = e.what();
        st.done.store(true);
        throw;
    }
    st.done.store(true);
}

}  // namespace

TEST(CheckCancelled, OutsideAWorkerThreadIsALogicError) {
    EXPECT_THROW(anyio::from_thread::check_cancelled(), std::logic_error);
    std::string in_plain_thread;
    std::thread plain([&in_plain_thread] {
        try {
            anyio::from_thread::check_cancelled();
        } catch (const std::logic_error& e) {
            in_plain_thread = e.what();
        }
    });
    plain.join();
    EXPECT_NE(in_plain_thread.find("to_thread::run_sync"), std::string::npos) << in_plain_thread;
    int on_loop = 0;
    run_guarded([&]() -> anyio::task<> {
        try {
            anyio::from_thread::check_cancelled();
        } catch (const std::logic_error&) {
            ++on_loop;
        }
        co_return;
    });
    EXPECT_EQ(on_loop, 1);
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    EXPECT_THROW(portal.call([] { anyio::from_thread::check_cancelled(); }), std::logic_error);
}

TEST(CheckCancelled, PassesWhileTheTaskIsNotCancelled) {
    int got = 0;
    run_guarded([&]() -> anyio::task<> {
        got = co_await anyio::to_thread::run_sync([] {
            for (int i = 0; i < 3; ++i)
                anyio::from_thread::check_cancelled();
            return 5;
        });
    });
    EXPECT_EQ(got, 5);
}

// Not abandoned: the task waits, but check_cancelled() throws once it is cancelled; the
// worker_cancelled escaping the function reaches the task as `cancelled`, caught by the
// scope that was cancelled (no exception_group: the group sees no failure).
TEST(CheckCancelled, StopsAWorkerNotAbandonedAndTheScopeCatchesIt) {
    worker_state st;
    bool caught = false;
    bool after_run_sync = false;
    run_guarded([&]() -> anyio::task<> {
        anyio::cancel_scope scope;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await scope.run([&]() -> anyio::task<> {
                    co_await anyio::to_thread::run_sync([&st] {
                        anyio::from_thread::check_cancelled();  // not yet
                        st.checked.store(true);
                        wait_until([&st] { return st.go.load(); });
                        check_then_rethrow(st);
                    });
                    after_run_sync = true;
                });
            });
            co_await loop_wait_until([&] { return st.checked.load(); });
            // The worker is blocked, the task parked waiting for it: the cancellation
            // reaches the worker's flag at once.
            scope.cancel();
            st.go.store(true);
        });
        caught = scope.cancelled_caught();
    });
    EXPECT_TRUE(st.done.load());
    EXPECT_EQ(st.caught, cancelled_text);
    EXPECT_TRUE(caught);
    EXPECT_FALSE(after_run_sync);
}

// A long loop in the worker polls check_cancelled() and ends soon after the cancellation.
TEST(CheckCancelled, EndsALongLoopInTheWorker) {
    worker_state st;
    bool caught = false;
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::move_on_after(1h, [&](anyio::cancel_scope& scope) -> anyio::task<> {
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon([&st]() -> anyio::task<> {
                    co_await anyio::to_thread::run_sync([&st] {
                        // Bounded by a hang guard only: the cancellation ends it.
                        const auto give_up = std::chrono::steady_clock::now() + 60s;
                        while (std::chrono::steady_clock::now() < give_up) {
                            anyio::from_thread::check_cancelled();
                            st.iterations.fetch_add(1);
                        }
                    });
                });
                co_await loop_wait_until([&] { return st.iterations.load() > 0; });
                scope.cancel();
            });
        });
        caught = true;
    });
    EXPECT_TRUE(caught);
    EXPECT_GT(st.iterations.load(), 0);
}

// The function may catch worker_cancelled and return a value: run_sync returns it (Trio's
// semantics), and the next checkpoint raises.
TEST(CheckCancelled, AWorkerThatCatchesItReturnsItsValue) {
    worker_state st;
    int got = 0;
    bool passed_checkpoint = false;
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::move_on_after(1h, [&](anyio::cancel_scope& scope) -> anyio::task<> {
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon([&]() -> anyio::task<> {
                    got = co_await anyio::to_thread::run_sync([&st] {
                        st.checked.store(true);
                        wait_until([&st] { return st.go.load(); });
                        try {
                            anyio::from_thread::check_cancelled();
                        } catch (const anyio::worker_cancelled&) {
                            return 9;
                        }
                        return 1;
                    });
                    co_await anyio::checkpoint();
                    passed_checkpoint = true;
                });
                co_await loop_wait_until([&] { return st.checked.load(); });
                scope.cancel();
                st.go.store(true);
            });
        });
    });
    EXPECT_EQ(got, 9);
    EXPECT_FALSE(passed_checkpoint);
}

// Abandoned on cancel: the task leaves at once; the thread, still running, learns of it.
TEST(CheckCancelled, AnAbandonedWorkerSeesTheCancellation) {
    auto st = std::make_shared<worker_state>();
    bool left = false;
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::move_on_after(1h, [&](anyio::cancel_scope& scope) -> anyio::task<> {
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon([st]() -> anyio::task<> {
                    // Named first: g++ 12 and captures with a destructor inside co_await.
                    auto work = [st] {
                        anyio::from_thread::check_cancelled();
                        st->checked.store(true);
                        wait_until([st] { return st->go.load(); });
                        check_then_rethrow(*st);
                    };
                    co_await anyio::to_thread::run_sync(abandon, work);
                });
                co_await loop_wait_until([&] { return st->checked.load(); });
                scope.cancel();
            });
        });
        left = true;
        st->go.store(true);
        co_await loop_wait_until([&] { return st->done.load(); });
    });
    EXPECT_TRUE(left);
    EXPECT_EQ(st->caught, cancelled_text);
}
