// Capturing lambdas passed to every API that takes a callable and whose result is awaited
// in place. Each lambda captures a std::string long enough to live on the heap and a
// shared_ptr, uses both after its first suspension, and the test then checks that the
// shared_ptr's count is back to one: a callable destroyed too early is a
// heap-use-after-free under ASan, one destroyed twice a double free, one never destroyed a
// count above one.
//
// Where the compiler handles it (clang; the asan-clang preset runs this under ASan), each
// lambda is written the natural way, inside the co_await expression. g++ 12 destroys such
// a lambda twice (GCC PR 100611), so the library refuses that form there at compile time
// (the compile_fail.awaited_temporary_* tests check the message), and under g++ 12 this
// file passes the same lambdas by name instead.

#include <anyio/anyio.hpp>
#include <anyio/detail/awaited_callable.hpp>

#include "net/net_helpers.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace {

using namespace std::chrono_literals;

const std::string kLong = "a string long enough to be allocated on the heap, not inline";

struct captures {
    std::string text = kLong;
    std::shared_ptr<int> shared = std::make_shared<int>(7);
};

// What a body returns after reading its captures: a use after free shows in plain builds
// too (a garbage length or value).
std::size_t checksum(const std::string& text, const std::shared_ptr<int>& shared) {
    return text.size() + static_cast<std::size_t>(*shared);
}

const std::size_t kExpected = kLong.size() + 7;

#if !ANYIO_DETAIL_REFUSE_AWAITED_TEMPORARIES

TEST(CallableLifetime, MoveOnAfterVoidBody) {
    captures c;
    std::size_t seen = 0;
    anyio_test::run_guarded([&]() -> anyio::task<> {
        bool finished = co_await anyio::move_on_after(
            10s, [text = c.text, shared = c.shared, &seen]() -> anyio::task<> {
                co_await anyio::checkpoint();
                seen = checksum(text, shared);
            });
        EXPECT_TRUE(finished);
    });
    EXPECT_EQ(seen, kExpected);
    EXPECT_EQ(c.shared.use_count(), 1);
}

TEST(CallableLifetime, MoveOnAfterValueBody) {
    captures c;
    std::optional<std::size_t> seen;
    anyio_test::run_guarded([&]() -> anyio::task<> {
        seen = co_await anyio::move_on_after(
            10s, [text = c.text, shared = c.shared]() -> anyio::task<std::size_t> {
                co_await anyio::checkpoint();
                co_return checksum(text, shared);
            });
    });
    EXPECT_EQ(seen, kExpected);
    EXPECT_EQ(c.shared.use_count(), 1);
}

TEST(CallableLifetime, MoveOnAfterShieldedBody) {
    captures c;
    std::size_t seen = 0;
    anyio_test::run_guarded([&]() -> anyio::task<> {
        (void)co_await anyio::move_on_after(
            10s, anyio::shield, [text = c.text, shared = c.shared, &seen]() -> anyio::task<> {
                co_await anyio::checkpoint();
                seen = checksum(text, shared);
            });
    });
    EXPECT_EQ(seen, kExpected);
    EXPECT_EQ(c.shared.use_count(), 1);
}

TEST(CallableLifetime, MoveOnAfterCutShort) {
    captures c;
    anyio_test::run_guarded([&]() -> anyio::task<> {
        bool finished = co_await anyio::move_on_after(
            1ms, [text = c.text, shared = c.shared]() -> anyio::task<> {
                co_await anyio::sleep_forever();
                EXPECT_EQ(checksum(text, shared), 0U);  // never reached
            });
        EXPECT_FALSE(finished);
    });
    EXPECT_EQ(c.shared.use_count(), 1);
}

TEST(CallableLifetime, FailAfterValueBody) {
    captures c;
    std::size_t seen = 0;
    anyio_test::run_guarded([&]() -> anyio::task<> {
        seen = co_await anyio::fail_after(
            10s, [text = c.text, shared = c.shared]() -> anyio::task<std::size_t> {
                co_await anyio::checkpoint();
                co_return checksum(text, shared);
            });
    });
    EXPECT_EQ(seen, kExpected);
    EXPECT_EQ(c.shared.use_count(), 1);
}

TEST(CallableLifetime, FailAfterTimesOut) {
    captures c;
    bool timed_out = false;
    anyio_test::run_guarded([&]() -> anyio::task<> {
        try {
            co_await anyio::fail_after(1ms, [text = c.text, shared = c.shared]() -> anyio::task<> {
                co_await anyio::sleep_forever();
                EXPECT_EQ(checksum(text, shared), 0U);
            });
        } catch (const anyio::timeout_error&) {
            timed_out = true;
        }
    });
    EXPECT_TRUE(timed_out);
    EXPECT_EQ(c.shared.use_count(), 1);
}

TEST(CallableLifetime, CancelScopeRun) {
    captures c;
    std::size_t seen = 0;
    anyio_test::run_guarded([&]() -> anyio::task<> {
        anyio::cancel_scope scope;
        bool finished = co_await scope.run(
            [text = c.text, shared = c.shared, &seen](anyio::cancel_scope&) -> anyio::task<> {
                co_await anyio::checkpoint();
                seen = checksum(text, shared);
            });
        EXPECT_TRUE(finished);
    });
    EXPECT_EQ(seen, kExpected);
    EXPECT_EQ(c.shared.use_count(), 1);
}

TEST(CallableLifetime, ShieldedAndOnCancelled) {
    captures c;
    std::size_t shielded_seen = 0;
    std::size_t cleanup_seen = 0;
    anyio_test::run_guarded([&]() -> anyio::task<> {
        shielded_seen = co_await anyio::shielded(
            [text = c.text, shared = c.shared]() -> anyio::task<std::size_t> {
                co_await anyio::checkpoint();
                co_return checksum(text, shared);
            });
        (void)co_await anyio::move_on_after(1ms, [&]() -> anyio::task<> {
            co_await anyio::on_cancelled(
                [text = c.text, shared = c.shared]() -> anyio::task<> {
                    co_await anyio::sleep_forever();
                    EXPECT_EQ(checksum(text, shared), 0U);
                },
                10s,
                [text = c.text, shared = c.shared, &cleanup_seen]() -> anyio::task<> {
                    co_await anyio::checkpoint();
                    cleanup_seen = checksum(text, shared);
                });
        });
    });
    EXPECT_EQ(shielded_seen, kExpected);
    EXPECT_EQ(cleanup_seen, kExpected);
    EXPECT_EQ(c.shared.use_count(), 1);
}

TEST(CallableLifetime, TaskGroupBodyAndChildren) {
    captures c;
    std::size_t soon_seen = 0;
    std::size_t started_seen = 0;
    std::size_t body_seen = 0;
    anyio_test::run_guarded([&]() -> anyio::task<> {
        co_await anyio::with_task_group([text = c.text, shared = c.shared, &soon_seen,
                                         &started_seen,
                                         &body_seen](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([text, shared, &soon_seen]() -> anyio::task<> {
                co_await anyio::checkpoint();
                soon_seen = checksum(text, shared);
            });
            started_seen = co_await tg.start(
                [text, shared](anyio::task_status<std::size_t>& status) -> anyio::task<> {
                    co_await anyio::checkpoint();
                    status.started(checksum(text, shared));
                    co_await anyio::checkpoint();
                });
            co_await anyio::checkpoint();
            body_seen = checksum(text, shared);
        });
    });
    EXPECT_EQ(soon_seen, kExpected);
    EXPECT_EQ(started_seen, kExpected);
    EXPECT_EQ(body_seen, kExpected);
    EXPECT_EQ(c.shared.use_count(), 1);
}

TEST(CallableLifetime, LockWith) {
    captures c;
    std::size_t seen = 0;
    anyio_test::run_guarded([&]() -> anyio::task<> {
        anyio::lock mutex;
        seen =
            co_await mutex.with([text = c.text, shared = c.shared]() -> anyio::task<std::size_t> {
                co_await anyio::checkpoint();
                co_return checksum(text, shared);
            });
    });
    EXPECT_EQ(seen, kExpected);
    EXPECT_EQ(c.shared.use_count(), 1);
}

TEST(CallableLifetime, ToThreadAndFromThread) {
    captures c;
    std::size_t worker_seen = 0;
    std::size_t loop_seen = 0;
    anyio_test::run_guarded([&]() -> anyio::task<> {
        worker_seen = co_await anyio::to_thread::run_sync(
            [text = c.text, shared = c.shared] { return checksum(text, shared); });
        loop_seen = co_await anyio::to_thread::run_sync([text = c.text, shared = c.shared] {
            return anyio::from_thread::run([text, shared]() -> anyio::task<std::size_t> {
                co_await anyio::checkpoint();
                co_return checksum(text, shared);
            });
        });
    });
    EXPECT_EQ(worker_seen, kExpected);
    EXPECT_EQ(loop_seen, kExpected);
    EXPECT_EQ(c.shared.use_count(), 1);
}

TEST(CallableLifetime, Serve) {
    captures c;
    std::string reply;
    anyio_test::run_guarded([&]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await listener.serve([text = c.text, shared = c.shared](
                                            anyio::socket_stream client) -> anyio::task<> {
                    co_await anyio::checkpoint();
                    co_await client.send(std::to_string(checksum(text, shared)) + "\n");
                });
            });
            auto client = co_await anyio::connect_tcp("127.0.0.1", listener.port());
            reply = co_await anyio_test::receive_line(client);
            co_await listener.aclose();
        });
    });
    EXPECT_EQ(reply, std::to_string(kExpected));
    EXPECT_EQ(c.shared.use_count(), 1);
}

#else  // g++ 12: the same lambdas, named first

// A body that reads its captures after a suspension, as a named lambda.
auto value_body(const captures& c) {
    return [text = c.text, shared = c.shared]() -> anyio::task<std::size_t> {
        co_await anyio::checkpoint();
        co_return checksum(text, shared);
    };
}

auto endless_body(const captures& c) {
    return [text = c.text, shared = c.shared]() -> anyio::task<> {
        co_await anyio::sleep_forever();
        EXPECT_EQ(checksum(text, shared), 0U);  // never reached
    };
}

TEST(CallableLifetime, NamedScopeBodies) {
    captures c;
    std::optional<std::size_t> moved_on;
    std::optional<std::size_t> shielded_moved_on;
    std::size_t failed_after = 0;
    std::optional<std::size_t> scope_ran;
    std::size_t shielded = 0;
    bool cut_short = false;
    anyio_test::run_guarded([&]() -> anyio::task<> {
        auto body = value_body(c);
        auto endless = endless_body(c);
        moved_on = co_await anyio::move_on_after(10s, body);
        shielded_moved_on = co_await anyio::move_on_after(10s, anyio::shield, body);
        failed_after = co_await anyio::fail_after(10s, body);
        anyio::cancel_scope scope;
        scope_ran = co_await scope.run(body);
        shielded = co_await anyio::shielded(std::ref(body));
        bool finished = co_await anyio::move_on_after(1ms, endless);
        cut_short = !finished;
    });
    EXPECT_EQ(moved_on, kExpected);
    EXPECT_EQ(shielded_moved_on, kExpected);
    EXPECT_EQ(failed_after, kExpected);
    EXPECT_EQ(scope_ran, kExpected);
    EXPECT_EQ(shielded, kExpected);
    EXPECT_TRUE(cut_short);
    EXPECT_EQ(c.shared.use_count(), 1);
}

TEST(CallableLifetime, NamedOnCancelledCleanup) {
    captures c;
    std::size_t cleanup_seen = 0;
    anyio_test::run_guarded([&]() -> anyio::task<> {
        auto endless = endless_body(c);
        auto cleanup = [text = c.text, shared = c.shared, &cleanup_seen]() -> anyio::task<> {
            co_await anyio::checkpoint();
            cleanup_seen = checksum(text, shared);
        };
        auto guarded = [&]() -> anyio::task<> {
            co_await anyio::on_cancelled(endless, 10s, cleanup);
        };
        (void)co_await anyio::move_on_after(1ms, guarded);
    });
    EXPECT_EQ(cleanup_seen, kExpected);
    EXPECT_EQ(c.shared.use_count(), 1);
}

TEST(CallableLifetime, NamedTaskGroupBodyStartLockAndWorker) {
    captures c;
    std::size_t started_seen = 0;
    std::size_t locked_seen = 0;
    std::size_t worker_seen = 0;
    anyio_test::run_guarded([&]() -> anyio::task<> {
        auto starter = [text = c.text, shared = c.shared](
                           anyio::task_status<std::size_t>& status) -> anyio::task<> {
            co_await anyio::checkpoint();
            status.started(checksum(text, shared));
        };
        auto group_body = [starter, &started_seen](anyio::task_group& tg) -> anyio::task<> {
            started_seen = co_await tg.start(starter);
        };
        co_await anyio::with_task_group(group_body);
        anyio::lock mutex;
        auto body = value_body(c);
        locked_seen = co_await mutex.with(body);
        auto work = [text = c.text, shared = c.shared] { return checksum(text, shared); };
        worker_seen = co_await anyio::to_thread::run_sync(work);
    });
    EXPECT_EQ(started_seen, kExpected);
    EXPECT_EQ(locked_seen, kExpected);
    EXPECT_EQ(worker_seen, kExpected);
    EXPECT_EQ(c.shared.use_count(), 1);
}

#endif

// Not inside a co_await expression: the natural form works with every compiler.

TEST(CallableLifetime, PortalCallAndStartTaskSoon) {
    captures c;
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    std::size_t called =
        portal.call([text = c.text, shared = c.shared]() -> anyio::task<std::size_t> {
            co_await anyio::checkpoint();
            co_return checksum(text, shared);
        });
    anyio::portal_future<std::size_t> later =
        portal.start_task_soon([text = c.text, shared = c.shared]() -> anyio::task<std::size_t> {
            co_await anyio::checkpoint();
            co_return checksum(text, shared);
        });
    EXPECT_EQ(called, kExpected);
    EXPECT_EQ(later.get(), kExpected);
    // Before the portal stops: the loop destroyed the copies before it woke this thread.
    EXPECT_EQ(c.shared.use_count(), 1);
    portal.stop();
    EXPECT_EQ(c.shared.use_count(), 1);
}

TEST(CallableLifetime, Run) {
    captures c;
    std::size_t seen = anyio::run([text = c.text, shared = c.shared]() -> anyio::task<std::size_t> {
        co_await anyio::checkpoint();
        co_return checksum(text, shared);
    });
    EXPECT_EQ(seen, kExpected);
    EXPECT_EQ(c.shared.use_count(), 1);
}

}  // namespace
