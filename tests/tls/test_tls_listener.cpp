// tls_listener: serve hands handlers handshaken streams; a client whose handshake fails or
// times out is reported and dropped while the others are served.

#include <anyio/anyio.hpp>

#include "support/run_helpers.hpp"
#include "tls/tls_helpers.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using anyio_test::client_context;
using anyio_test::client_options;
using anyio_test::run_guarded;
using anyio_test::server_context;
using anyio_test::test_pki;

std::string what_of(std::exception_ptr error) {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        return e.what();
    }
    return "?";
}

anyio::task<std::string> ask(int port, const anyio::tls_options& options, std::string question) {
    anyio::socket_stream tcp = co_await anyio::connect_tcp("127.0.0.1", port);
    anyio::tls_stream tls = co_await anyio::tls_stream::wrap(std::move(tcp), options);
    co_await tls.send(question);
    std::string answer = co_await tls.receive();
    co_await tls.aclose();
    co_return answer;
}

// A handler taking the stream by value: one reply, then a clean close.
anyio::task<> reply(anyio::tls_stream client) {
    const std::string question = co_await client.receive();
    co_await client.send("echo: " + question + " (sni " + client.server_hostname() + ")");
    co_await client.aclose();
}

TEST(TlsListener, FailedHandshakeIsReportedAndServingGoesOn) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        std::vector<std::string> errors;
        anyio::event first_reported;
        anyio::event second_reported;
        anyio::tls_listener_options options;
        options.on_handshake_error = [&](const anyio::socket_address& peer,
                                         std::exception_ptr error) {
            EXPECT_EQ(peer.host(), "127.0.0.1");
            errors.push_back(what_of(error));
            (errors.size() == 1 ? first_reported : second_reported).set();
        };
        anyio::tcp_listener tcp = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        const int port = tcp.port();
        anyio::tls_listener listener(std::move(tcp), server_context(pki), options);
        const anyio::tls_options client = client_options(client_context(pki));
        std::vector<std::string> answers;
        const auto body = [&](anyio::task_group& group) -> anyio::task<> {
            const auto serve = [&]() -> anyio::task<> { co_await listener.serve(reply); };
            group.start_soon(serve);
            // Not TLS at all.
            anyio::socket_stream plain = co_await anyio::connect_tcp("127.0.0.1", port);
            co_await plain.send("GET / HTTP/1.0\r\n\r\n");
            co_await first_reported.wait();
            // Refuses the server's certificate (wrong name).
            const anyio::tls_options wrong = client_options(client_context(pki), "example.invalid");
            const bool threw1 =
                co_await anyio_test::throws<anyio::tls_error>(ask(port, wrong, "x"));
            EXPECT_TRUE(threw1);
            co_await second_reported.wait();
            // Served, before and after those.
            answers.push_back(co_await ask(port, client, "one"));
            answers.push_back(co_await ask(port, client, "two"));
            listener.close();
        };
        co_await anyio::with_task_group(body);
        EXPECT_EQ(answers, (std::vector<std::string>{"echo: one (sni localhost)",
                                                     "echo: two (sni localhost)"}));
        EXPECT_EQ(errors.size(), 2u);
        if (errors.size() == 2) {
            EXPECT_NE(errors[0].find("http request"), std::string::npos) << errors[0];
            EXPECT_NE(errors[1].find("certificate"), std::string::npos) << errors[1];
        }
    });
}

TEST(TlsListener, SilentClientTimesOut) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        std::string error;
        anyio::tls_listener_options options;
        options.handshake_timeout = std::chrono::milliseconds(50);
        options.on_handshake_error = [&](const anyio::socket_address&, std::exception_ptr e) {
            error = what_of(e);
        };
        anyio::tcp_listener tcp = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        const int port = tcp.port();
        anyio::tls_listener listener(std::move(tcp), server_context(pki), options);
        const auto body = [&](anyio::task_group& group) -> anyio::task<> {
            const auto serve = [&]() -> anyio::task<> { co_await listener.serve(reply); };
            group.start_soon(serve);
            anyio::socket_stream silent = co_await anyio::connect_tcp("127.0.0.1", port);
            std::string got;
            try {
                got = co_await silent.receive();  // the server drops us after the timeout
            } catch (const anyio::end_of_stream&) {
                got = "(dropped)";
            }
            EXPECT_EQ(got, "(dropped)");
            listener.close();
        };
        co_await anyio::with_task_group(body);
        EXPECT_EQ(error, "anyio: deadline exceeded");
    });
}

TEST(TlsListener, AcceptAndServeIntoAGroup) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        anyio::tcp_listener tcp = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        const int port = tcp.port();
        anyio::tls_listener listener(std::move(tcp), server_context(pki));
        const anyio::tls_options client = client_options(client_context(pki));
        std::string answer;
        const auto body = [&](anyio::task_group& group) -> anyio::task<> {
            const auto one = [&]() -> anyio::task<> { answer = co_await ask(port, client, "a"); };
            group.start_soon(one);
            anyio::tls_stream accepted = co_await listener.accept();
            co_await reply(std::move(accepted));
        };
        co_await anyio::with_task_group(body);
        EXPECT_EQ(answer, "echo: a (sni localhost)");

        // serve(handler, group): a handler taking the stream by reference.
        std::string by_ref;
        const auto handler = [](anyio::tls_stream& stream) -> anyio::task<> {
            co_await stream.send("by reference");
            co_await stream.aclose();
        };
        const auto grouped = [&](anyio::task_group& group) -> anyio::task<> {
            const auto serve = [&]() -> anyio::task<> { co_await listener.serve(handler, group); };
            group.start_soon(serve);
            anyio::socket_stream tcp2 = co_await anyio::connect_tcp("127.0.0.1", port);
            anyio::tls_stream tls = co_await anyio::tls_stream::wrap(std::move(tcp2), client);
            by_ref = co_await tls.receive();
            co_await tls.aclose();
            listener.close();
        };
        co_await anyio::with_task_group(grouped);
        EXPECT_EQ(by_ref, "by reference");
    });
}

TEST(TlsListener, NeedsAServerContext) {
    run_guarded([]() -> anyio::task<> {
        anyio::tcp_listener tcp = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        EXPECT_THROW(anyio::tls_listener(std::move(tcp), anyio::tls_context::client()),
                     std::invalid_argument);
    });
}

}  // namespace
