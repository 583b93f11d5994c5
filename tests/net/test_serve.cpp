// socket_listener::serve over real loopback: many clients, 10^4 connections, handler
// forms, stopping, and riding out a lack of file descriptors.

#include <anyio/anyio.hpp>
#include <anyio/detail/runtime.hpp>

#include "net/net_helpers.hpp"
#include "support/child_process.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using anyio_test::run_autojump;
using anyio_test::run_guarded;
using anyio_test::settle;

// Connects, sends `line`, and returns the line that comes back.
anyio::task<std::string> round_trip(std::uint16_t port, std::string line) {
    auto client = co_await anyio::connect_tcp("127.0.0.1", port);
    co_await client.send(line + "\n");
    co_return co_await anyio_test::receive_line(client);
}

TEST(Serve, RunsAHandlerForEachOfManyConcurrentClients) {
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        constexpr int clients = 100;
        int answered = 0;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> { co_await listener.serve(anyio_test::echo); });
            co_await anyio::with_task_group([&](anyio::task_group& client_group) -> anyio::task<> {
                for (int i = 0; i < clients; ++i) {
                    client_group.start_soon([&, i]() -> anyio::task<> {
                        const std::string line = "client " + std::to_string(i);
                        const std::string got = co_await round_trip(listener.port(), line);
                        EXPECT_EQ(got, line);
                        ++answered;
                    });
                }
                co_return;
            });
            co_await listener.aclose();  // serve returns once its handlers finished
        });
        EXPECT_EQ(answered, clients);
    });
}

TEST(Serve, TenThousandConnectionsEachEchoALine) {
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        constexpr int concurrent = 100;
        constexpr int per_client = 100;  // 10^4 connections in all
        const std::size_t fds_before = anyio_test::open_fd_count();
        std::size_t most_fds = 0;
        int verified = 0;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> { co_await listener.serve(anyio_test::echo); });
            tg.start_soon([&]() -> anyio::task<> {
                for (;;) {
                    most_fds = std::max(most_fds, anyio_test::open_fd_count());
                    co_await anyio::sleep(5ms);
                }
            });
            co_await anyio::with_task_group([&](anyio::task_group& clients) -> anyio::task<> {
                for (int c = 0; c < concurrent; ++c) {
                    clients.start_soon([&, c]() -> anyio::task<> {
                        for (int k = 0; k < per_client; ++k) {
                            const std::string line =
                                "connection " + std::to_string(c * per_client + k) + " says hi";
                            const std::string got = co_await round_trip(listener.port(), line);
                            if (got == line) {
                                ++verified;
                            } else {
                                ADD_FAILURE() << "sent \"" << line << "\", got \"" << got << "\"";
                            }
                        }
                    });
                }
                co_return;
            });
            co_await listener.aclose();
            tg.cancel_scope().cancel();
        });
        EXPECT_EQ(verified, concurrent * per_client);
        // Each live connection holds two descriptors here (client and server end); a server
        // end may linger a moment after its client moved on.
        EXPECT_LE(most_fds, fds_before + 4 * concurrent);
        EXPECT_EQ(anyio_test::open_fd_count(), fds_before - 1) << "only the listener closed";
    });
}

TEST(Serve, ReturnsOnlyOnceClosedAndEveryHandlerFinished) {
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        anyio::event release;
        bool served = false;
        bool handler_done = false;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await listener.serve([&](anyio::socket_stream stream) -> anyio::task<> {
                    co_await release.wait();
                    co_await stream.send("bye\n");
                    handler_done = true;
                });
                served = true;
            });
            auto client = co_await anyio::connect_tcp("127.0.0.1", listener.port());
            co_await settle();
            co_await listener.aclose();
            co_await settle();
            EXPECT_FALSE(served) << "a handler still runs";
            release.set();
            const std::string bye = co_await anyio_test::receive_line(client);
            EXPECT_EQ(bye, "bye");
        });
        EXPECT_TRUE(served);
        EXPECT_TRUE(handler_done);
    });
}

TEST(Serve, WithAnExternalGroupReturnsAtCloseWhileHandlersGoOn) {
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        anyio::event release;
        bool served = false;
        int handled = 0;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            // A handler taking the stream by lvalue reference works too.
            const auto handler = [&](anyio::socket_stream& stream) -> anyio::task<> {
                co_await release.wait();
                co_await stream.send("done\n");
                ++handled;
            };
            tg.start_soon([&]() -> anyio::task<> {
                co_await listener.serve(handler, tg);
                served = true;
            });
            auto a = co_await anyio::connect_tcp("127.0.0.1", listener.port());
            auto b = co_await anyio::connect_tcp("127.0.0.1", listener.port());
            co_await anyio::sleep(10ms);
            co_await listener.aclose();
            co_await settle();
            EXPECT_TRUE(served);
            EXPECT_EQ(handled, 0);
            release.set();
            const std::string done_a = co_await anyio_test::receive_line(a);
            const std::string done_b = co_await anyio_test::receive_line(b);
            EXPECT_EQ(done_a, "done");
            EXPECT_EQ(done_b, "done");
        });
        EXPECT_EQ(handled, 2);
    });
}

TEST(Serve, AHandlerFailureFailsTheGroupAndStopsServing) {
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        bool failed = false;
        try {
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon([&]() -> anyio::task<> {
                    co_await listener.serve([](anyio::socket_stream) -> anyio::task<> {
                        throw std::runtime_error("handler failed");
                        co_return;
                    });
                });
                (void)co_await anyio::connect_tcp("127.0.0.1", listener.port());
                co_await anyio::sleep(std::chrono::hours(1));  // cancelled by the failure
            });
        } catch (const anyio::exception_group& e) {
            failed = std::string(e.what()).find("handler failed") != std::string::npos;
        }
        EXPECT_TRUE(failed);
    });
}

TEST(Serve, WithAnErrorHookAFailingHandlerEndsOnlyItsConnection) {
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        std::vector<std::string> reported;
        auto handler = [](anyio::socket_stream client) -> anyio::task<> {
            const std::string line = co_await anyio_test::receive_line(client);
            if (line == "fail") throw std::runtime_error("bad request");
            co_await client.send(line + "\n");
        };
        auto on_error = [&](const anyio::socket_address& peer, std::exception_ptr error) {
            try {
                std::rethrow_exception(error);
            } catch (const std::runtime_error& e) {
                reported.push_back(std::string(e.what()) + " from " + peer.host());
            }
        };
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> { co_await listener.serve(handler, on_error); });
            auto failing = co_await anyio::connect_tcp("127.0.0.1", listener.port());
            co_await failing.send("fail\n");
            // The failed connection is closed: its client sees the end of the stream.
            bool ended = false;
            try {
                (void)co_await failing.receive();
            } catch (const anyio::end_of_stream&) {
                ended = true;
            }
            EXPECT_TRUE(ended);
            // And the server goes on serving others.
            const std::string echoed = co_await round_trip(listener.port(), "still here");
            EXPECT_EQ(echoed, "still here");
            co_await listener.aclose();
        });
        EXPECT_EQ(reported.size(), 1U);
        if (reported.size() != 1U) co_return;
        EXPECT_EQ(reported[0], "bad request from 127.0.0.1");
    });
}

TEST(Serve, CancellingServeCancelsItsHandlers) {
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        int cancelled_handlers = 0;
        anyio::cancel_scope scope;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await scope.run([&]() -> anyio::task<> {
                    co_await listener.serve([&](anyio::socket_stream stream) -> anyio::task<> {
                        try {
                            (void)co_await stream.receive();
                        } catch (const anyio::cancelled&) {
                            ++cancelled_handlers;
                            throw;
                        }
                    });
                });
            });
            auto a = co_await anyio::connect_tcp("127.0.0.1", listener.port());
            auto b = co_await anyio::connect_tcp("127.0.0.1", listener.port());
            co_await anyio::sleep(10ms);
            scope.cancel();
        });
        EXPECT_EQ(cancelled_handlers, 2);
        EXPECT_TRUE(listener.is_open()) << "cancelling serve does not close the listener";
    });
}

// UndefinedBehaviorSanitizer checks the dynamic type of objects with virtual functions, and
// the first time it meets a pair of types it probes the vtable's memory through a pipe:
// with no descriptor left that probe fails and it reports a bogus "invalid vptr". So,
// before exhausting the descriptors, rehearse on a listener of its own each kind of call
// the exhausted stretch makes: serving and echoing, a sleep, a cancellation aborting a
// parked event wait and a parked socket receive (as the backoff's and the client's
// deadlines do later), and serve returning when its listener closes.

// Runs `wait` in a task of its own and cancels it once that task is parked in it, so the
// cancellation really aborts the parked operation (cancel_scope's call to its try_abort is
// the checked call). A short deadline would not do: on a busy machine it can expire before
// the wait has parked, the wait then throws at its first checkpoint, nothing is aborted,
// and the first abort of that type comes only once the descriptors are gone.
template <class Wait>
anyio::task<> cancel_once_parked(Wait wait) {
    anyio::cancel_scope scope;
    const anyio::detail::task_state* waiter = nullptr;
    bool done = false;
    bool finished = true;
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        tg.start_soon([&]() -> anyio::task<> {
            waiter = anyio::detail::current_task();
            finished = co_await scope.run(wait);
            done = true;
        });
        while (!done && (waiter == nullptr || waiter->parked == nullptr))
            co_await anyio::checkpoint();
        scope.cancel();
    });
    EXPECT_FALSE(finished) << "the rehearsed wait was not cut short";
}

anyio::task<> warm_up_type_checks() {
    auto rehearsal = co_await anyio::create_tcp_listener("127.0.0.1", 0);
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        tg.start_soon([&]() -> anyio::task<> { co_await rehearsal.serve(anyio_test::echo); });
        const std::string got = co_await round_trip(rehearsal.port(), "warm-up");
        EXPECT_EQ(got, "warm-up");
        co_await anyio::sleep(1ms);
        anyio::event never;
        co_await cancel_once_parked([&]() -> anyio::task<> { co_await never.wait(); });
        auto idle = co_await anyio::connect_tcp("127.0.0.1", rehearsal.port());
        co_await cancel_once_parked(
            [&]() -> anyio::task<> { (void)co_await anyio_test::receive_line(idle); });
        co_await rehearsal.aclose();
    });
    co_await anyio::sleep(1ms);
}

// Lowers this (child) process's descriptor limit to a few dozen more than it uses, so
// exhausting them is quick.
void lower_descriptor_limit() {
    rlimit limit{};
    EXPECT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
    limit.rlim_cur = anyio_test::open_fd_count() + 64;
    EXPECT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
}

// Opens descriptors until the process has exactly one left (for a client's socket);
// returns them.
std::vector<int> exhaust_descriptors_but_one() {
    std::vector<int> held;
    for (;;) {
        const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0) break;
        held.push_back(fd);
    }
    EXPECT_FALSE(held.empty());
    if (!held.empty()) {
        ::close(held.back());
        held.pop_back();
    }
    return held;
}

TEST(Serve, OutOfDescriptorsTheListenerBacksOffAndServesOnceSomeAreFree) {
    const anyio_test::exit_status status = anyio_test::run_in_child([] {
        lower_descriptor_limit();
        run_autojump([]() -> anyio::task<> {
            auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon(
                    [&]() -> anyio::task<> { co_await listener.serve(anyio_test::echo); });
                co_await warm_up_type_checks();
                std::vector<int> held = exhaust_descriptors_but_one();
                auto client = co_await anyio::connect_tcp("127.0.0.1", listener.port());
                co_await client.send("still there?\n");
                std::string pending;
                // The server cannot accept (no descriptor) for a while: no answer, and the
                // listener does not give up (its accept keeps backing off).
                const bool answered = co_await anyio::move_on_after(1500ms, [&]() -> anyio::task<> {
                    (void)co_await anyio_test::receive_line(client, pending);
                });
                EXPECT_FALSE(answered);
                for (int fd : held)
                    ::close(fd);
                const std::string got = co_await anyio_test::receive_line(client, pending);
                EXPECT_EQ(got, "still there?");
                // And it keeps serving new connections.
                const std::string again = co_await round_trip(listener.port(), "again");
                EXPECT_EQ(again, "again");
                co_await listener.aclose();
            });
        });
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(Serve, ClosingTheListenerWakesAnAcceptThatBacksOff) {
    const anyio_test::exit_status status = anyio_test::run_in_child([] {
        lower_descriptor_limit();
        run_autojump([]() -> anyio::task<> {
            auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
            std::vector<int> held;
            bool served = false;
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon([&]() -> anyio::task<> {
                    co_await listener.serve(anyio_test::echo);
                    served = true;
                });
                co_await warm_up_type_checks();
                held = exhaust_descriptors_but_one();
                auto client = co_await anyio::connect_tcp("127.0.0.1", listener.port());
                co_await anyio::sleep(300ms);  // accept is backing off now
                EXPECT_FALSE(served);
                // Closing wakes the backoff at once: serve has returned a few scheduling
                // rounds later, with no time passing.
                co_await listener.aclose();
                co_await settle();
                EXPECT_TRUE(served);
            });
            for (int fd : held)
                ::close(fd);
        });
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

}  // namespace
