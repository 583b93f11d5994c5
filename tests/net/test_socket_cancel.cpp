// Cancelling and closing sockets mid-operation over real loopback: nothing is lost, no
// descriptor leaks.

#include <anyio/anyio.hpp>

#include "net/net_helpers.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using anyio_test::run_guarded;
using anyio_test::settle;

struct connected_pair {
    anyio::socket_stream client;
    anyio::socket_stream server;
};

anyio::task<connected_pair> connect_pair(anyio::tcp_listener& listener) {
    connected_pair pair;
    pair.client = co_await anyio::connect_tcp("127.0.0.1", listener.port());
    pair.server = co_await listener.accept();
    co_return pair;
}

// Connects clients to a listener that never accepts until one connect does not complete
// within a short window: the backlog is then full and further connects stay pending.
// Returns the clients that did connect.
anyio::task<std::vector<anyio::socket_stream>> fill_backlog(const anyio::tcp_listener& listener) {
    std::vector<anyio::socket_stream> queued;
    for (int i = 0; i < 1000; ++i) {
        anyio::socket_stream client;
        const bool connected = co_await anyio::move_on_after(200ms, [&]() -> anyio::task<> {
            client = co_await anyio::connect_tcp("127.0.0.1", listener.port());
        });
        if (!connected) co_return queued;
        queued.push_back(std::move(client));
    }
    ADD_FAILURE() << "the backlog never filled up";
    co_return queued;
}

TEST(SocketCancel, CancelledReceiveLosesNoData) {
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        auto pair = co_await connect_pair(listener);
        std::string sent;
        for (int i = 0; i < 20000; ++i)
            sent += std::to_string(i) + ",";
        std::string got;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                for (std::size_t off = 0; off < sent.size(); off += 1000) {
                    co_await pair.client.send(std::string_view(sent).substr(off, 1000));
                    if (off % 10'000 == 0) co_await anyio::sleep(1ms);
                }
                co_await pair.client.send_eof();
            });
            char buffer[333];
            int cut_short = 0;
            for (bool ended = false; !ended;) {
                std::size_t n = 0;
                const bool finished = co_await anyio::move_on_after(100us, [&]() -> anyio::task<> {
                    try {
                        n = co_await pair.server.receive_into(buffer);
                    } catch (const anyio::end_of_stream&) {
                        ended = true;
                    }
                });
                if (!finished) {
                    ++cut_short;
                    continue;
                }
                got.append(buffer, n);
            }
            EXPECT_GT(cut_short, 0);
        });
        EXPECT_TRUE(got == sent) << got.size() << " of " << sent.size() << " bytes";
    });
}

TEST(SocketCancel, CancelledSendLeavesAPrefixAndAUsableStream) {
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        auto pair = co_await connect_pair(listener);
        std::string big(32u << 20, '\0');
        for (std::size_t i = 0; i < big.size(); ++i)
            big[i] = static_cast<char>('a' + i % 26);
        const bool finished = co_await anyio::move_on_after(
            50ms, [&]() -> anyio::task<> { co_await pair.client.send(big); });
        EXPECT_FALSE(finished) << "the peer never reads: the send must block";
        // The kernel's buffers may still be full of the cancelled send's prefix, so the tail
        // can only go once the peer reads: the reader drains while the same task sends.
        std::string got;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                char buffer[65536];
                for (;;) {
                    std::size_t n = 0;
                    try {
                        n = co_await pair.server.receive_into(buffer);
                    } catch (const anyio::end_of_stream&) {
                        break;
                    }
                    got.append(buffer, n);
                }
            });
            co_await pair.client.send("|tail");
            co_await pair.client.send_eof();
        });
        EXPECT_GT(got.size(), 5u);
        if (got.size() <= 5) co_return;
        const std::string prefix = got.substr(0, got.size() - 5);
        EXPECT_EQ(got.substr(got.size() - 5), "|tail");
        EXPECT_LT(prefix.size(), big.size());
        EXPECT_TRUE(prefix == big.substr(0, prefix.size()));
    });
}

TEST(SocketCancel, CancelledAcceptsLoseNoConnection) {
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        constexpr int clients = 200;
        int answered = 0;
        int cut_short = 0;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int i = 0; i < clients; ++i) {
                tg.start_soon([&, i]() -> anyio::task<> {
                    if (i % 3 == 0) co_await anyio::sleep(std::chrono::microseconds(50 * i));
                    auto client = co_await anyio::connect_tcp("127.0.0.1", listener.port());
                    co_await client.send(std::to_string(i) + "\n");
                    const std::string got_line = co_await anyio_test::receive_line(client);
                    EXPECT_EQ(got_line, std::to_string(i));
                    ++answered;
                });
            }
            // Accepts under deadlines of 0 to 300 us: many are cut short while waiting, and
            // every connection must still be accepted exactly once.
            int accepted = 0;
            for (int round = 0; accepted < clients; ++round) {
                anyio::socket_stream stream;
                const bool finished = co_await anyio::move_on_after(
                    std::chrono::microseconds(round % 7 * 50),
                    [&]() -> anyio::task<> { stream = co_await listener.accept(); });
                if (!finished) {
                    ++cut_short;
                    continue;
                }
                ++accepted;
                // The child owns the stream (echo takes it by reference).
                tg.start_soon(
                    [](anyio::socket_stream own) -> anyio::task<> {
                        co_await anyio_test::echo(own);
                    },
                    std::move(stream));
            }
        });
        EXPECT_EQ(answered, clients);
        EXPECT_GT(cut_short, 0);
    });
}

TEST(SocketCancel, CancelledConnectClosesItsSocketAndLaterConnectsWork) {
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0, 1);
        std::vector<anyio::socket_stream> queued = co_await fill_backlog(listener);
        // fill_backlog's last connect was cancelled while pending: its socket is closed.
        const std::size_t fds = anyio_test::open_fd_count();
        const bool finished = co_await anyio::move_on_after(100ms, [&]() -> anyio::task<> {
            (void)co_await anyio::connect_tcp("127.0.0.1", listener.port());
        });
        EXPECT_FALSE(finished);
        EXPECT_EQ(anyio_test::open_fd_count(), fds);
        // Drain the backlog: every queued client is there, then a new connect succeeds.
        for (auto& client : queued) {
            auto server = co_await listener.accept();
            co_await client.send("x");
            const std::string got_line = co_await server.receive();
            EXPECT_EQ(got_line, "x");
        }
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                auto late = co_await anyio::connect_tcp("127.0.0.1", listener.port());
                co_await late.send("late");
            });
            for (;;) {
                // Pending connects cut short above may have left half-open entries that the
                // kernel still completes; they end at once. The one that talks is ours.
                auto server = co_await listener.accept();
                std::string got;
                try {
                    got = co_await server.receive();
                } catch (const std::exception&) {
                    continue;
                }
                EXPECT_EQ(got, "late");
                break;
            }
        });
    });
}

TEST(SocketCancel, ClosingTheListenerWakesAPendingAccept) {
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        bool woke_closed = false;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                try {
                    (void)co_await listener.accept();
                } catch (const anyio::closed_resource_error&) {
                    woke_closed = true;
                }
            });
            co_await settle();
            EXPECT_FALSE(woke_closed);
            co_await listener.aclose();
        });
        EXPECT_TRUE(woke_closed);
    });
}

TEST(SocketCancel, ClosingAStreamWakesItsPendingReceiveAndSend) {
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        auto pair = co_await connect_pair(listener);
        int woke_closed = 0;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                try {
                    (void)co_await pair.client.receive();
                } catch (const anyio::closed_resource_error&) {
                    ++woke_closed;
                }
            });
            tg.start_soon([&]() -> anyio::task<> {
                try {
                    co_await pair.client.send(std::string(32u << 20, 'x'));
                } catch (const anyio::closed_resource_error&) {
                    ++woke_closed;
                }
            });
            co_await anyio::sleep(20ms);
            co_await pair.client.aclose();
        });
        EXPECT_EQ(woke_closed, 2);
    });
}

TEST(SocketCancel, NothingLeaksADescriptor) {
    run_guarded([]() -> anyio::task<> {
        // Each kind of operation once before counting, so lazily created process-wide
        // resources (a resolver thread, the C library's state) are there already.
        const auto exercise = [&]() -> anyio::task<> {
            auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0, 1);
            for (int i = 0; i < 20; ++i) {
                auto pair = co_await connect_pair(listener);
                co_await pair.client.send("x");
                (void)co_await pair.server.receive();
            }
            auto by_name = co_await anyio::connect_tcp("localhost", listener.port());
            (void)co_await listener.accept();
            try {
                (void)co_await anyio::connect_tcp("no-such-host.invalid", 1);
            } catch (const anyio::resolve_error&) {
            }
            (void)co_await anyio::move_on_after(
                1ms, [&]() -> anyio::task<> { (void)co_await listener.accept(); });
            std::vector<anyio::socket_stream> queued = co_await fill_backlog(listener);
            const auto port = listener.port();
            co_await listener.aclose();
            try {
                (void)co_await anyio::connect_tcp("127.0.0.1", port);
            } catch (const anyio::connect_error&) {
            }
            try {
                (void)co_await anyio::create_tcp_listener("no-such-host.invalid", 0);
            } catch (const anyio::resolve_error&) {
            }
        };
        co_await exercise();
        const std::size_t before = anyio_test::open_fd_count();
        co_await exercise();
        co_await exercise();
        EXPECT_EQ(anyio_test::open_fd_count(), before);
    });
}

}  // namespace
