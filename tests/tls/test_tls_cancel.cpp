// Cancelling a TLS handshake half-way, on either side, leaks nothing: the session is freed
// (LeakSanitizer in the dev preset checks SSL and SSL_CTX), the transport closed (the peer
// sees the end; the descriptor count is back). The peer is a raw socket that observes the
// handshake's records, so the cancellation lands at a known point.

#include <anyio/anyio.hpp>

#include "support/descriptors.hpp"
#include "support/run_helpers.hpp"
#include "tls/tls_helpers.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using anyio_test::client_context;
using anyio_test::client_options;
using anyio_test::open_fd_count;
using anyio_test::run_guarded;
using anyio_test::server_context;
using anyio_test::server_options;
using anyio_test::test_pki;

// Receives until `record` holds one whole TLS record (5-byte header, then its length).
anyio::task<> receive_record(anyio::socket_stream& stream, std::string& record) {
    for (;;) {
        if (record.size() >= 5) {
            const std::size_t length = (static_cast<unsigned char>(record[3]) << 8) |
                                       static_cast<unsigned char>(record[4]);
            if (record.size() >= 5 + length) co_return;
        }
        record += co_await stream.receive();
    }
}

// True once the peer closed: the receive ends (its remaining bytes, if any, are ignored).
anyio::task<bool> peer_closed(anyio::socket_stream& stream) {
    for (;;) {
        try {
            co_await stream.receive();
        } catch (const anyio::end_of_stream&) {
            co_return true;
        } catch (const anyio::broken_resource_error&) {
            co_return true;
        }
    }
}

TEST(TlsCancel, HandshakeCancelledOnEitherSideLeaksNothing) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        const anyio::tls_options client = client_options(client_context(pki));
        const anyio::tls_options server = server_options(server_context(pki));
        anyio::tcp_listener listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        const int port = listener.port();
        const std::size_t fds_before = open_fd_count();

        // 1. Our client; the peer accepts TCP, reads the ClientHello and never answers.
        std::string client_hello;
        bool client_end_seen = false;
        anyio::cancel_scope client_scope;
        const auto phase1 = [&](anyio::task_group& group) -> anyio::task<> {
            const auto silent_peer = [&]() -> anyio::task<> {
                anyio::socket_stream peer = co_await listener.accept();
                co_await receive_record(peer, client_hello);
                client_scope.cancel();  // the client now waits for the ServerHello
                client_end_seen = co_await peer_closed(peer);
            };
            group.start_soon(silent_peer);
            const auto handshake = [&]() -> anyio::task<> {
                anyio::socket_stream tcp = co_await anyio::connect_tcp("127.0.0.1", port);
                anyio::tls_stream tls = co_await anyio::tls_stream::wrap(std::move(tcp), client);
                ADD_FAILURE() << "the handshake finished";
            };
            co_await client_scope.run(handshake);
        };
        co_await anyio::with_task_group(phase1);
        EXPECT_TRUE(client_scope.cancelled_caught());
        EXPECT_TRUE(client_end_seen);
        EXPECT_EQ(client_hello.substr(0, 1), "\x16");  // a handshake record
        EXPECT_EQ(open_fd_count(), fds_before);

        // 2. Our server; the peer replays that ClientHello, reads the server's first flight
        // (ServerHello ... Finished) and never sends its own Finished.
        std::string server_flight;
        bool server_end_seen = false;
        anyio::cancel_scope server_scope;
        const auto phase2 = [&](anyio::task_group& group) -> anyio::task<> {
            const auto replaying_peer = [&]() -> anyio::task<> {
                anyio::socket_stream peer = co_await anyio::connect_tcp("127.0.0.1", port);
                co_await peer.send(client_hello);
                co_await receive_record(peer, server_flight);
                server_scope.cancel();  // the server now waits for the client's Finished
                server_end_seen = co_await peer_closed(peer);
            };
            group.start_soon(replaying_peer);
            const auto handshake = [&]() -> anyio::task<> {
                anyio::socket_stream tcp = co_await listener.accept();
                anyio::tls_stream tls = co_await anyio::tls_stream::wrap(std::move(tcp), server);
                ADD_FAILURE() << "the handshake finished";
            };
            co_await server_scope.run(handshake);
        };
        co_await anyio::with_task_group(phase2);
        EXPECT_TRUE(server_scope.cancelled_caught());
        EXPECT_TRUE(server_end_seen);
        EXPECT_EQ(server_flight.substr(0, 1), "\x16");
        EXPECT_EQ(open_fd_count(), fds_before);
    });
}

TEST(TlsCancel, FailedHandshakeClosesTheTransport) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        const anyio::tls_options server = server_options(server_context(pki));
        anyio::tcp_listener listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        const int port = listener.port();
        const std::size_t fds_before = open_fd_count();
        std::string error;
        bool end_seen = false;
        const auto body = [&](anyio::task_group& group) -> anyio::task<> {
            const auto http_client = [&]() -> anyio::task<> {
                anyio::socket_stream peer = co_await anyio::connect_tcp("127.0.0.1", port);
                co_await peer.send("GET / HTTP/1.0\r\n\r\n");
                end_seen = co_await peer_closed(peer);
            };
            group.start_soon(http_client);
            anyio::socket_stream tcp = co_await listener.accept();
            try {
                anyio::tls_stream tls = co_await anyio::tls_stream::wrap(std::move(tcp), server);
            } catch (const anyio::tls_error& e) {
                error = e.what();
            }
        };
        co_await anyio::with_task_group(body);
        EXPECT_NE(error.find("TLS handshake with a client failed: http request"), std::string::npos)
            << error;
        EXPECT_TRUE(end_seen);
        EXPECT_EQ(open_fd_count(), fds_before);
    });
}

TEST(TlsCancel, ACancelledScopeStartsNoHandshake) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        const anyio::tls_options client = client_options(client_context(pki));
        anyio::tcp_listener listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        anyio::socket_stream stream = co_await anyio::connect_tcp("127.0.0.1", listener.port());
        anyio::socket_stream accepted = co_await listener.accept();
        anyio::cancel_scope scope;
        scope.cancel();
        const auto handshake = [&]() -> anyio::task<> {
            co_await anyio::tls_stream::wrap(std::move(stream), client);
        };
        co_await scope.run(handshake);
        EXPECT_TRUE(scope.cancelled_caught());
        std::string sent;
        try {
            sent = co_await accepted.receive();
        } catch (const anyio::end_of_stream&) {
            sent = "(closed)";  // no ClientHello, and the socket closed
        }
        EXPECT_EQ(sent, "(closed)");
    });
}

}  // namespace
