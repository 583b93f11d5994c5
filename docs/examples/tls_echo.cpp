// TLS: a certificate made by the openssl program, a tls_listener serving an echo over TCP,
// a client checking the server's name and negotiating ALPN, a certificate refused with its
// cause, and a clean close (close_notify both ways).
#include <anyio/anyio.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <stdlib.h>

// A self-signed certificate for "localhost", valid for a day, in `dir`.
anyio::task<> make_certificate(const std::string& dir) {
    const std::vector<std::string> argv = {"openssl",
                                           "req",
                                           "-x509",
                                           "-newkey",
                                           "ec",
                                           "-pkeyopt",
                                           "ec_paramgen_curve:P-256",
                                           "-nodes",
                                           "-days",
                                           "1",
                                           "-subj",
                                           "/CN=localhost",
                                           "-addext",
                                           "subjectAltName=DNS:localhost,IP:127.0.0.1",
                                           "-keyout",
                                           dir + "/key.pem",
                                           "-out",
                                           dir + "/cert.pem"};
    co_await anyio::run_process(argv);  // throws called_process_error if openssl fails
}

// One connection: sends back each message until the client closes the session.
anyio::task<> echo(anyio::tls_stream client) {
    try {
        for (;;) {
            const std::string message = co_await client.receive();
            std::printf("server: \"%s\" from a client that asked for %s\n", message.c_str(),
                        client.server_hostname().c_str());
            co_await client.send(message);
        }
    } catch (const anyio::end_of_stream&) {
        // The client's close_notify.
    }
    co_await client.aclose();  // ours in return
}

anyio::task<> run_client(int port, anyio::tls_context context) {
    anyio::tls_options options;
    options.hostname = "localhost";  // sent as SNI, and the certificate must name it
    options.context = context;
    anyio::socket_stream tcp = co_await anyio::connect_tcp("127.0.0.1", port);
    anyio::tls_stream tls = co_await anyio::tls_stream::wrap(std::move(tcp), options);
    std::printf("client: %s, ALPN %s, server certificate %s\n", tls.tls_version().c_str(),
                tls.alpn_protocol().c_str(), tls.peer_certificate_subject().c_str());
    co_await tls.send("hello over TLS");
    const std::string reply = co_await tls.receive();
    std::printf("client: echo: %s\n", reply.c_str());
    co_await tls.aclose();  // close_notify, then waits for the server's

    // The same certificate for another name is refused, and the error says why.
    options.hostname = "example.com";
    anyio::socket_stream again = co_await anyio::connect_tcp("127.0.0.1", port);
    try {
        co_await anyio::tls_stream::wrap(std::move(again), options);
    } catch (const anyio::tls_error& e) {
        std::printf("client: refused: %s\n", e.what());
    }
}

anyio::task<> main_task() {
    char dir_template[] = "/tmp/anyio-tls-example-XXXXXX";
    const std::string dir = ::mkdtemp(dir_template);
    co_await make_certificate(dir);

    anyio::tls_context server_context = anyio::tls_context::server();
    server_context.load_cert_chain(dir + "/cert.pem", dir + "/key.pem");
    server_context.set_alpn_protocols({"echo/1"});
    anyio::tls_context client_context = anyio::tls_context::client();
    client_context.load_verify_locations(dir + "/cert.pem");  // trust this one certificate
    client_context.set_alpn_protocols({"echo/1"});
    std::filesystem::remove_all(dir);  // both contexts hold what they loaded

    // A failed handshake is reported here and dropped; serving goes on.
    int failed_handshakes = 0;
    anyio::tls_listener_options options;
    options.on_handshake_error = [&](const anyio::socket_address&, std::exception_ptr) {
        ++failed_handshakes;
    };
    anyio::tcp_listener tcp = co_await anyio::create_tcp_listener("127.0.0.1", 0);
    const int port = tcp.port();
    anyio::tls_listener listener(std::move(tcp), server_context, options);

    co_await anyio::with_task_group([&](anyio::task_group& group) -> anyio::task<> {
        group.start_soon([&]() -> anyio::task<> { co_await listener.serve(echo); });
        co_await run_client(port, client_context);
        listener.close();  // serve returns once the open connections have finished
    });
    std::printf("server: %d failed handshake(s)\n", failed_handshakes);
}

int main() {
    anyio::run(main_task);
}
