// tls_stream against the real OpenSSL programs: our client against `openssl s_server`, our
// server against `openssl s_client`. Each step waits for what the program prints (ACCEPT,
// the bytes we sent, DONE), never for a fixed time.

#include <anyio/anyio.hpp>

#include "process/process_helpers.hpp"
#include "support/run_helpers.hpp"
#include "tls/tls_helpers.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using anyio_test::client_context;
using anyio_test::client_options;
using anyio_test::cmd;
using anyio_test::read_until;
using anyio_test::run_guarded;
using anyio_test::server_context;
using anyio_test::test_pki;

anyio::process_options merged_output() {
    anyio::process_options options;
    options.stderr_to = anyio::stdio::as_stdout();
    return options;
}

// Starts s_server with `extra` arguments; returns its port once it printed "ACCEPT".
anyio::task<int> start_s_server(anyio::process& server, std::string& out) {
    co_await read_until(server.stdout_stream(), out, "ACCEPT ");
    co_await read_until(server.stdout_stream(), out, "\n");
    const std::size_t line = out.find("ACCEPT ");
    const std::size_t end = out.find('\n', line);
    const std::size_t colon = out.rfind(':', end);
    co_return std::stoi(out.substr(colon + 1, end - colon - 1));
}

TEST(TlsOpenssl, OurClientAgainstSServer) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        const std::vector<std::string> argv =
            cmd("openssl", "s_server", "-accept", "0", "-naccept", "1", "-cert",
                pki.file("server.pem"), "-key", pki.file("server.key"), "-alpn", "h2,http/1.1");
        anyio::process server = co_await anyio::open_process(argv, merged_output());
        std::string out;
        const int port = co_await start_s_server(server, out);

        anyio::tls_context context = client_context(pki);
        context.set_alpn_protocols({"http/1.1"});
        anyio::socket_stream tcp = co_await anyio::connect_tcp("127.0.0.1", port);
        anyio::tls_stream tls =
            co_await anyio::tls_stream::wrap(std::move(tcp), client_options(context));
        EXPECT_EQ(tls.alpn_protocol(), "http/1.1");
        EXPECT_EQ(tls.tls_version(), "TLSv1.3");
        EXPECT_EQ(tls.peer_certificate_subject(), "CN=localhost");

        co_await tls.send("hello from anyio\n");
        co_await read_until(server.stdout_stream(), out, "hello from anyio\n");
        co_await server.stdin_stream().send("hello from s_server\n");
        std::string got;
        co_await read_until(tls, got, "hello from s_server\n");
        EXPECT_EQ(got, "hello from s_server\n");

        // close_notify to s_server, which answers with its own: aclose returns after it.
        co_await tls.aclose();
        co_await read_until(server.stdout_stream(), out, "DONE");
        const int status = co_await server.wait();
        EXPECT_EQ(status, 0) << out;
    });
}

TEST(TlsOpenssl, SServerSeesOurSni) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        const std::vector<std::string> argv =
            cmd("openssl", "s_server", "-accept", "0", "-naccept", "1", "-cert",
                pki.file("wrong_host.pem"), "-key", pki.file("wrong_host.key"), "-servername",
                "localhost", "-cert2", pki.file("server.pem"), "-key2", pki.file("server.key"));
        anyio::process server = co_await anyio::open_process(argv, merged_output());
        std::string out;
        const int port = co_await start_s_server(server, out);
        anyio::socket_stream tcp = co_await anyio::connect_tcp("127.0.0.1", port);
        // s_server answers "localhost" with server.pem; without SNI it would show
        // wrong_host.pem, which our client refuses.
        anyio::tls_stream tls =
            co_await anyio::tls_stream::wrap(std::move(tcp), client_options(client_context(pki)));
        co_await read_until(server.stdout_stream(), out,
                            "Hostname in TLS extension: \"localhost\"");
        EXPECT_EQ(tls.server_hostname(), "localhost");
        co_await tls.aclose();
        const int status = co_await server.wait();
        EXPECT_EQ(status, 0) << out;
    });
}

TEST(TlsOpenssl, SServerRefusedForTheWrongName) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        const std::vector<std::string> argv =
            cmd("openssl", "s_server", "-accept", "0", "-naccept", "1", "-cert",
                pki.file("server.pem"), "-key", pki.file("server.key"));
        anyio::process server = co_await anyio::open_process(argv, merged_output());
        std::string out;
        const int port = co_await start_s_server(server, out);
        anyio::socket_stream tcp = co_await anyio::connect_tcp("127.0.0.1", port);
        std::string error;
        try {
            co_await anyio::tls_stream::wrap(std::move(tcp),
                                             client_options(client_context(pki), "other.example"));
        } catch (const anyio::tls_error& e) {
            error = e.what();
        }
        EXPECT_NE(error.find("with other.example failed: certificate verify failed: hostname "
                             "mismatch"),
                  std::string::npos)
            << error;
        co_await read_until(server.stdout_stream(), out, "alert");
        server.kill();
        co_await server.wait();
    });
}

// Runs s_client against our tls_listener on `port` with `extra` arguments.
anyio::task<anyio::process> start_s_client(const test_pki& pki, int port,
                                           std::vector<std::string> extra) {
    std::vector<std::string> argv =
        cmd("openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port), "-servername",
            "localhost", "-CAfile", pki.file("ca.pem"), "-verify_return_error", "-verify_hostname",
            "localhost");
    argv.insert(argv.end(), extra.begin(), extra.end());
    co_return co_await anyio::open_process(argv, merged_output());
}

TEST(TlsOpenssl, SClientAgainstOurServer) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        anyio::tls_context context = server_context(pki);
        context.set_alpn_protocols({"h2", "http/1.1"});
        anyio::tcp_listener tcp = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        const int port = tcp.port();
        anyio::tls_listener listener(std::move(tcp), context);
        anyio::process client = co_await start_s_client(pki, port, cmd("-alpn", "http/1.1"));

        anyio::tls_stream tls = co_await listener.accept();
        EXPECT_EQ(tls.server_hostname(), "localhost");
        EXPECT_EQ(tls.alpn_protocol(), "http/1.1");
        co_await tls.send("hello from anyio\n");
        std::string out;
        co_await read_until(client.stdout_stream(), out, "hello from anyio\n");
        EXPECT_NE(out.find("ALPN protocol: http/1.1"), std::string::npos) << out;
        EXPECT_NE(out.find("Verify return code: 0 (ok)"), std::string::npos) << out;

        co_await client.stdin_stream().send("ping\n");
        std::string got;
        co_await read_until(tls, got, "ping\n");
        EXPECT_EQ(got, "ping\n");
        // End of s_client's input: it sends close_notify, our receive ends cleanly.
        co_await client.stdin_stream().send_eof();
        std::string rest;
        try {
            rest = co_await tls.receive();
        } catch (const anyio::end_of_stream&) {
            rest = "(end)";
        }
        EXPECT_EQ(rest, "(end)");
        co_await tls.aclose();
        const int status = co_await client.wait();
        EXPECT_EQ(status, 0) << out;
    });
}

TEST(TlsOpenssl, SClientWithItsCertificateForMutualTls) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        anyio::tls_context context = server_context(pki);
        context.load_verify_locations(pki.file("ca.pem"));
        context.set_verify_mode(anyio::tls_verify::required);
        anyio::tcp_listener tcp = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        const int port = tcp.port();
        anyio::tls_listener listener(std::move(tcp), context);
        anyio::process client = co_await start_s_client(
            pki, port, cmd("-cert", pki.file("client.pem"), "-key", pki.file("client.key")));
        anyio::tls_stream tls = co_await listener.accept();
        EXPECT_EQ(tls.peer_certificate_subject(), "CN=anyio test client");
        EXPECT_EQ(tls.peer_certificate_issuer(), "CN=anyio test CA");
        co_await tls.send("welcome\n");
        std::string out;
        co_await read_until(client.stdout_stream(), out, "welcome\n");
        // Our close_notify; s_client answers with its own and exits.
        co_await tls.aclose();
        const int status = co_await client.wait();
        EXPECT_EQ(status, 0) << out;
    });
}

TEST(TlsOpenssl, SClientRefusesAnExpiredCertificate) {
    run_guarded([]() -> anyio::task<> {
        const test_pki pki;
        anyio::tcp_listener tcp = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        const int port = tcp.port();
        anyio::tls_listener listener(std::move(tcp), server_context(pki, "expired", "expired"));
        anyio::process client = co_await start_s_client(pki, port, cmd());
        std::string error;
        try {
            co_await listener.accept();
        } catch (const anyio::tls_error& e) {
            error = e.what();
        }
        EXPECT_NE(error.find("alert certificate expired"), std::string::npos) << error;
        std::string out;
        co_await read_until(client.stdout_stream(), out, "certificate has expired");
        const int status = co_await client.wait();
        EXPECT_NE(status, 0) << out;
    });
}

}  // namespace
