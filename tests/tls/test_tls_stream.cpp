// tls_stream between our own client and server, over TCP and UNIX sockets: data both ways,
// what the session reports, ALPN, SNI, mutual TLS, and the end of a session (close_notify
// both ways, standard_compatible, unwrap back to clear text, send_eof).

#include <anyio/anyio.hpp>

#include "support/run_helpers.hpp"
#include "tls/tls_helpers.hpp"

#include <gtest/gtest.h>

#include <openssl/x509_vfy.h>

#include <string>

namespace {

using anyio_test::client_context;
using anyio_test::client_options;
using anyio_test::handshake;
using anyio_test::handshake_result;
using anyio_test::run_guarded;
using anyio_test::server_context;
using anyio_test::server_options;
using anyio_test::test_pki;
using anyio_test::transport_kind;

anyio::task<std::string> receive_all(anyio::abc::byte_receive_stream& stream) {
    std::string all;
    for (;;) {
        std::string more;
        try {
            more = co_await stream.receive();
        } catch (const anyio::end_of_stream&) {
            co_return all;
        }
        all += more;
    }
}

// Both ends' aclose at once: each waits for the other's close_notify.
anyio::task<> close_both(anyio::tls_stream& a, anyio::tls_stream& b) {
    const auto body = [&](anyio::task_group& group) -> anyio::task<> {
        const auto close_a = [&]() -> anyio::task<> { co_await a.aclose(); };
        group.start_soon(close_a);
        co_await b.aclose();
    };
    co_await anyio::with_task_group(body);
}

anyio::task<> exchange_and_describe(transport_kind kind) {
    const test_pki pki;
    handshake_result r = co_await handshake(client_options(client_context(pki)),
                                            server_options(server_context(pki)), kind);
    EXPECT_EQ(r.client_error, "");
    EXPECT_EQ(r.server_error, "");
    if (!r.client || !r.server) co_return;
    anyio::tls_stream& client = *r.client;
    anyio::tls_stream& server = *r.server;
    co_await client.send("hello server");
    std::string got = co_await server.receive();
    EXPECT_EQ(got, "hello server");
    co_await server.send("hello client");
    char buffer[64];
    const std::size_t n = co_await client.receive_into(buffer);
    EXPECT_EQ(std::string(buffer, n), "hello client");

    EXPECT_FALSE(client.server_side());
    EXPECT_TRUE(server.server_side());
    EXPECT_EQ(client.tls_version(), "TLSv1.3");
    EXPECT_EQ(client.cipher(), server.cipher());
    EXPECT_FALSE(client.cipher().empty());
    EXPECT_EQ(client.peer_certificate_subject(), "CN=localhost");
    EXPECT_EQ(client.peer_certificate_issuer(), "CN=anyio test CA");
    const std::string der = client.peer_certificate_der();
    EXPECT_GT(der.size(), 100u);
    EXPECT_EQ(static_cast<unsigned char>(der[0]), 0x30);  // a DER SEQUENCE
    EXPECT_EQ(server.peer_certificate_subject(), "");     // no client certificate asked for
    EXPECT_EQ(server.server_hostname(), "localhost");     // the SNI the client sent
    EXPECT_EQ(client.alpn_protocol(), "");
    EXPECT_NE(client.transport_as<anyio::socket_stream>(), nullptr);
    co_await close_both(client, server);
}

TEST(TlsStream, ExchangesDataOverTcp) {
    run_guarded([]() -> anyio::task<> { co_await exchange_and_describe(transport_kind::tcp); });
}

TEST(TlsStream, ExchangesDataOverUnixSocket) {
    run_guarded(
        []() -> anyio::task<> { co_await exchange_and_describe(transport_kind::unix_socket); });
}

// Any abc::byte_stream carries TLS: here another TLS session (the inner session's records
// travel encrypted again by the outer one).
TEST(TlsStream, TlsOverTls) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        handshake_result outer = co_await handshake(client_options(client_context(pki)),
                                                    server_options(server_context(pki)));
        if (!outer.client || !outer.server) {
            throw std::runtime_error(outer.client_error + outer.server_error);
        }
        const anyio::tls_options inner_client = client_options(client_context(pki));
        const anyio::tls_options inner_server = server_options(server_context(pki));
        std::optional<anyio::tls_stream> client;
        std::optional<anyio::tls_stream> server;
        std::string got;
        const auto body = [&](anyio::task_group& group) -> anyio::task<> {
            const auto server_side = [&]() -> anyio::task<> {
                server = co_await anyio::tls_stream::wrap(std::move(*outer.server), inner_server);
                co_await anyio_test::read_until(*server, got, "sessions");
            };
            group.start_soon(server_side);
            client = co_await anyio::tls_stream::wrap(std::move(*outer.client), inner_client);
            co_await client->send("inside two sessions");
        };
        co_await anyio::with_task_group(body);
        EXPECT_EQ(got, "inside two sessions");
        EXPECT_NE(client->transport_as<anyio::tls_stream>(), nullptr);
        co_await close_both(*client, *server);
    });
}

TEST(TlsStream, LargeTransfersBothWaysAtOnce) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        handshake_result r = co_await handshake(client_options(client_context(pki)),
                                                server_options(server_context(pki)));
        if (!r.client || !r.server) throw std::runtime_error(r.client_error + r.server_error);
        const std::string up(3 * 1024 * 1024 + 17, 'u');
        const std::string down(2 * 1024 * 1024 + 5, 'd');
        std::string got_up;
        std::string got_down;
        anyio::tls_stream& client = *r.client;
        anyio::tls_stream& server = *r.server;
        // Each end sends and receives at the same time: the flushes of both directions
        // share one transport.
        const auto body = [&](anyio::task_group& group) -> anyio::task<> {
            const auto client_send = [&]() -> anyio::task<> {
                co_await client.send(up);
                co_await client.send_eof();
            };
            const auto server_send = [&]() -> anyio::task<> {
                co_await server.send(down);
                co_await server.send_eof();
            };
            const auto server_receive = [&]() -> anyio::task<> {
                got_up = co_await receive_all(server);
            };
            group.start_soon(client_send);
            group.start_soon(server_send);
            group.start_soon(server_receive);
            got_down = co_await receive_all(client);
        };
        co_await anyio::with_task_group(body);
        EXPECT_EQ(got_up.size(), up.size());
        EXPECT_EQ(got_up, up);
        EXPECT_EQ(got_down, down);
    });
}

TEST(TlsStream, AlpnPicksTheServersFirstCommonProtocol) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        anyio::tls_context client = client_context(pki);
        client.set_alpn_protocols({"h2", "http/1.1"});
        anyio::tls_context server = server_context(pki);
        server.set_alpn_protocols({"spdy/1", "http/1.1", "h2"});
        handshake_result r = co_await handshake(client_options(client), server_options(server));
        EXPECT_EQ(r.client_error + r.server_error, "");
        if (r.client && r.server) {
            EXPECT_EQ(r.client->alpn_protocol(), "http/1.1");
            EXPECT_EQ(r.server->alpn_protocol(), "http/1.1");
        }
        anyio::tls_context other = client_context(pki);
        other.set_alpn_protocols({"imap"});
        handshake_result none = co_await handshake(client_options(other), server_options(server));
        EXPECT_EQ(none.client_error + none.server_error, "");
        if (none.client) {
            EXPECT_EQ(none.client->alpn_protocol(), "");
        }
    });
}

TEST(TlsStream, AlpnNameLengthIsChecked) {
    anyio::tls_context context = anyio::tls_context::client();
    EXPECT_THROW(context.set_alpn_protocols({""}), std::invalid_argument);
    EXPECT_THROW(context.set_alpn_protocols({std::string(256, 'x')}), std::invalid_argument);
}

TEST(TlsStream, MutualTls) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        anyio::tls_context server = server_context(pki);
        server.load_verify_locations(pki.file("ca.pem"));
        server.set_verify_mode(anyio::tls_verify::required);
        anyio::tls_context client = client_context(pki);
        client.load_cert_chain(pki.file("client.pem"), pki.file("client.key"));
        handshake_result r = co_await handshake(client_options(client), server_options(server));
        EXPECT_EQ(r.client_error + r.server_error, "");
        if (r.server) {
            EXPECT_EQ(r.server->peer_certificate_subject(), "CN=anyio test client");
            // TLS 1.3 checks the client's certificate after the client's handshake is done:
            // the server's verdict reaches the client with its first read.
            co_await r.server->send("ok");
            const std::string got = co_await r.client->receive();
            EXPECT_EQ(got, "ok");
        }

        handshake_result without =
            co_await handshake(client_options(client_context(pki)), server_options(server));
        EXPECT_NE(without.server_error.find("peer did not return a certificate"), std::string::npos)
            << without.server_error;
    });
}

// The client refuses the server's certificate; the error names why.
anyio::task<handshake_result> refused(const test_pki& pki, const std::string& cert,
                                      const std::string& key,
                                      const std::string& hostname = "localhost") {
    co_return co_await handshake(client_options(client_context(pki), hostname),
                                 server_options(server_context(pki, cert, key)));
}

TEST(TlsStream, ExpiredCertificateIsNamed) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        handshake_result r = co_await refused(pki, "expired", "expired");
        EXPECT_NE(r.client_error.find("certificate has expired"), std::string::npos)
            << r.client_error;
        EXPECT_NE(r.client_error.find("localhost"), std::string::npos) << r.client_error;
        EXPECT_EQ(r.client_tls_error.verify_result(), X509_V_ERR_CERT_HAS_EXPIRED);
        EXPECT_EQ(r.client_tls_error.reason(), "certificate has expired");
        // The alert reaches the server, which names it too.
        EXPECT_NE(r.server_error.find("certificate expired"), std::string::npos) << r.server_error;
    });
}

TEST(TlsStream, WrongHostIsNamed) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        handshake_result r = co_await refused(pki, "wrong_host", "wrong_host");
        EXPECT_NE(r.client_error.find("hostname mismatch"), std::string::npos) << r.client_error;
        EXPECT_EQ(r.client_tls_error.verify_result(), X509_V_ERR_HOSTNAME_MISMATCH);
        // By address: the certificate's IP entry matches 127.0.0.1, not 127.0.0.2.
        handshake_result by_ip = co_await refused(pki, "server", "server", "127.0.0.1");
        EXPECT_EQ(by_ip.client_error, "");
        handshake_result wrong_ip = co_await refused(pki, "server", "server", "127.0.0.2");
        EXPECT_NE(wrong_ip.client_error.find("IP address mismatch"), std::string::npos)
            << wrong_ip.client_error;
    });
}

TEST(TlsStream, UnknownCaIsNamed) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        handshake_result leaf = co_await refused(pki, "other_server", "other_server");
        EXPECT_NE(leaf.client_error.find("unable to get local issuer certificate"),
                  std::string::npos)
            << leaf.client_error;
        handshake_result chain = co_await refused(pki, "other_chain", "other_server");
        EXPECT_NE(chain.client_error.find("self-signed certificate in certificate chain"),
                  std::string::npos)
            << chain.client_error;
        EXPECT_NE(chain.server_error.find("unknown ca"), std::string::npos) << chain.server_error;
    });
}

TEST(TlsStream, DefaultClientContextUsesTheSystemTrustStore) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        anyio::tls_options options;  // no context: the system's CAs, which do not know ours
        options.hostname = "localhost";
        handshake_result r = co_await handshake(options, server_options(server_context(pki)));
        EXPECT_NE(r.client_error.find("unable to get local issuer certificate"), std::string::npos)
            << r.client_error;
    });
}

TEST(TlsStream, HostnameCheckCanBeTurnedOff) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        anyio::tls_context client = client_context(pki);
        client.set_check_hostname(false);
        handshake_result r =
            co_await handshake(client_options(client),
                               server_options(server_context(pki, "wrong_host", "wrong_host")));
        EXPECT_EQ(r.client_error + r.server_error, "");
        // Still verified against the CA: an unknown issuer is refused.
        handshake_result unknown =
            co_await handshake(client_options(client),
                               server_options(server_context(pki, "other_server", "other_server")));
        EXPECT_NE(unknown.client_error.find("unable to get local issuer"), std::string::npos);
        // Verification off altogether needs check_hostname off first (Python's rule).
        anyio::tls_context lax = anyio::tls_context::client();
        EXPECT_THROW(lax.set_verify_mode(anyio::tls_verify::none), std::invalid_argument);
        lax.set_check_hostname(false);
        lax.set_verify_mode(anyio::tls_verify::none);
        handshake_result any =
            co_await handshake(client_options(lax, ""),
                               server_options(server_context(pki, "other_server", "other_server")));
        EXPECT_EQ(any.client_error + any.server_error, "");
    });
}

TEST(TlsStream, ClientCheckingNamesNeedsAHostname) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        handshake_result r = co_await handshake(client_options(client_context(pki), ""),
                                                server_options(server_context(pki)));
        EXPECT_NE(r.client_error.find("needs options.hostname"), std::string::npos)
            << r.client_error;
        // A server needs a context with its certificate.
        anyio::tls_options server;
        server.server_side = true;
        handshake_result s = co_await handshake(client_options(client_context(pki)), server);
        EXPECT_NE(s.server_error.find("needs a context"), std::string::npos) << s.server_error;
    });
}

TEST(TlsStream, CloseNotifyBothWays) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        for (const bool client_first : {true, false}) {
            handshake_result r = co_await handshake(client_options(client_context(pki)),
                                                    server_options(server_context(pki)));
            if (!r.client || !r.server) throw std::runtime_error(r.client_error + r.server_error);
            anyio::tls_stream& closer = client_first ? *r.client : *r.server;
            anyio::tls_stream& other = client_first ? *r.server : *r.client;
            bool other_saw_end = false;
            const auto body = [&](anyio::task_group& group) -> anyio::task<> {
                const auto close_first = [&]() -> anyio::task<> {
                    co_await closer.send("last words");
                    // Returns once the other side's close_notify came back.
                    co_await closer.aclose();
                };
                group.start_soon(close_first);
                const std::string all = co_await receive_all(other);
                EXPECT_EQ(all, "last words");
                other_saw_end = true;
                co_await other.aclose();
            };
            co_await anyio::with_task_group(body);
            EXPECT_TRUE(other_saw_end);
            EXPECT_FALSE(closer.is_open());
            const bool threw1 =
                co_await anyio_test::throws<anyio::closed_resource_error>(closer.send("x"));
            EXPECT_TRUE(threw1);
        }
    });
}

TEST(TlsStream, EofWithoutCloseNotifyIsBrokenInStandardMode) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        anyio::tls_options lax_client = client_options(client_context(pki));
        lax_client.standard_compatible = false;  // its aclose sends no close_notify
        handshake_result r = co_await handshake(lax_client, server_options(server_context(pki)));
        if (!r.client || !r.server) throw std::runtime_error(r.client_error + r.server_error);
        // The client reads first: a socket closed with unread bytes (here the server's
        // session tickets) is reset, not ended.
        co_await r.server->send("ready");
        const std::string ready = co_await r.client->receive();
        EXPECT_EQ(ready, "ready");
        co_await r.client->send("partial");
        co_await r.client->aclose();
        const std::string got = co_await r.server->receive();
        EXPECT_EQ(got, "partial");
        std::string error;
        try {
            co_await r.server->receive();
        } catch (const anyio::broken_resource_error& e) {
            error = e.what();
        }
        EXPECT_NE(error.find("without close_notify"), std::string::npos) << error;
    });
}

TEST(TlsStream, EofWithoutCloseNotifyEndsTheStreamWhenNotStandardCompatible) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        anyio::tls_options lax_client = client_options(client_context(pki));
        lax_client.standard_compatible = false;
        anyio::tls_options lax_server = server_options(server_context(pki));
        lax_server.standard_compatible = false;
        handshake_result r = co_await handshake(lax_client, lax_server);
        if (!r.client || !r.server) throw std::runtime_error(r.client_error + r.server_error);
        co_await r.server->send("ready");
        const std::string ready = co_await r.client->receive();
        EXPECT_EQ(ready, "ready");
        co_await r.client->send("whole message");
        co_await r.client->aclose();
        const std::string all = co_await receive_all(*r.server);
        EXPECT_EQ(all, "whole message");
        EXPECT_FALSE(r.server->standard_compatible());
    });
}

TEST(TlsStream, UnwrapReturnsToClearText) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        handshake_result r = co_await handshake(client_options(client_context(pki)),
                                                server_options(server_context(pki)));
        if (!r.client || !r.server) throw std::runtime_error(r.client_error + r.server_error);
        co_await r.client->send("STARTTLS done\n");
        std::string client_clear;
        const auto body = [&](anyio::task_group& group) -> anyio::task<> {
            const auto server_side = [&]() -> anyio::task<> {
                const std::string got = co_await r.server->receive();
                EXPECT_EQ(got, "STARTTLS done\n");
                anyio::tls_unwrapped plain = co_await r.server->unwrap();
                // At once after the close_notify: may arrive with it, as leftover.
                co_await plain.stream->send("clear from server\n");
                std::string seen = plain.leftover;
                co_await anyio_test::read_until(*plain.stream, seen, "clear from client\n");
                EXPECT_EQ(seen, "clear from client\n");
                co_await plain.stream->aclose();
            };
            group.start_soon(server_side);
            anyio::tls_unwrapped plain = co_await r.client->unwrap();
            EXPECT_FALSE(r.client->is_open());
            client_clear = plain.leftover;
            co_await anyio_test::read_until(*plain.stream, client_clear, "clear from server\n");
            co_await plain.stream->send("clear from client\n");
            const std::string rest = co_await receive_all(*plain.stream);
            client_clear += rest;
        };
        co_await anyio::with_task_group(body);
        EXPECT_EQ(client_clear, "clear from server\n");
        const bool threw2 =
            co_await anyio_test::throws<anyio::closed_resource_error>(r.client->receive());
        EXPECT_TRUE(threw2);
    });
}

TEST(TlsStream, SendEofHalfClosesOnTls13) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        handshake_result r = co_await handshake(client_options(client_context(pki)),
                                                server_options(server_context(pki)));
        if (!r.client || !r.server) throw std::runtime_error(r.client_error + r.server_error);
        co_await r.client->send("question");
        co_await r.client->send_eof();
        const bool threw3 =
            co_await anyio_test::throws<anyio::closed_resource_error>(r.client->send("more"));
        EXPECT_TRUE(threw3);
        const std::string question = co_await receive_all(*r.server);
        EXPECT_EQ(question, "question");
        co_await r.server->send("answer");
        co_await r.server->aclose();
        const std::string answer = co_await receive_all(*r.client);
        EXPECT_EQ(answer, "answer");
        co_await r.client->aclose();

        anyio::tls_context tls12 = client_context(pki);
        tls12.set_maximum_version(anyio::tls_version::tls1_2);
        handshake_result old =
            co_await handshake(client_options(tls12), server_options(server_context(pki)));
        if (!old.client) throw std::runtime_error(old.client_error);
        EXPECT_EQ(old.client->tls_version(), "TLSv1.2");
        const bool threw4 = co_await anyio_test::throws<std::logic_error>(old.client->send_eof());
        EXPECT_TRUE(threw4);
        co_await old.client->send("still open");
        const std::string got = co_await old.server->receive();
        EXPECT_EQ(got, "still open");
    });
}

TEST(TlsStream, SecondConcurrentReceiveIsBusy) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        handshake_result r = co_await handshake(client_options(client_context(pki)),
                                                server_options(server_context(pki)));
        if (!r.client || !r.server) throw std::runtime_error(r.client_error + r.server_error);
        anyio::tls_stream& client = *r.client;
        const auto body = [&](anyio::task_group& group) -> anyio::task<> {
            const auto first = [&]() -> anyio::task<> {
                const std::string got = co_await client.receive();
                EXPECT_EQ(got, "wake");
            };
            group.start_soon(first);
            co_await anyio_test::settle();
            const bool threw5 =
                co_await anyio_test::throws<anyio::busy_resource_error>(client.receive());
            EXPECT_TRUE(threw5);
            co_await r.server->send("wake");
        };
        co_await anyio::with_task_group(body);
    });
}

TEST(TlsStream, AcloseWakesAReceiverAndIsIdempotent) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        handshake_result r = co_await handshake(client_options(client_context(pki)),
                                                server_options(server_context(pki)));
        if (!r.client || !r.server) throw std::runtime_error(r.client_error + r.server_error);
        anyio::tls_stream& client = *r.client;
        bool woke = false;
        const auto body = [&](anyio::task_group& group) -> anyio::task<> {
            const auto receiver = [&]() -> anyio::task<> {
                try {
                    co_await client.receive();
                } catch (const anyio::closed_resource_error&) {
                    woke = true;
                }
            };
            group.start_soon(receiver);
            co_await anyio_test::settle();
            co_await client.aclose();
            co_await client.aclose();
        };
        co_await anyio::with_task_group(body);
        EXPECT_TRUE(woke);
        // The server got the close_notify that was sent.
        const std::string rest = co_await receive_all(*r.server);
        EXPECT_EQ(rest, "");
    });
}

}  // namespace
