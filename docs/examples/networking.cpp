// TCP and UNIX sockets: a server started with task_group::start that reports its port,
// serve(handler, on_error) isolating a failing connection, clients, addresses, and the
// errors that name what failed.
#include <anyio/anyio.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

#include <unistd.h>

// One connection: upper-cases what it receives until the client ends its side.
anyio::task<> shout(anyio::socket_stream client) {
    for (;;) {
        std::string bytes;
        try {
            bytes = co_await client.receive();
        } catch (const anyio::end_of_stream&) {
            co_return;
        }
        if (bytes.find("boom") != std::string::npos) throw std::runtime_error("client said boom");
        for (char& c : bytes)
            c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
        co_await client.send(bytes);
    }
}

void log_failure(const anyio::socket_address& peer, std::exception_ptr error) {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        std::printf("connection from %s failed: %s\n", peer.host().c_str(), e.what());
    }
}

// Binds, reports the port through `status`, then serves until the listener is closed.
anyio::task<> run_server(anyio::task_status<std::uint16_t>& status, anyio::tcp_listener& listener) {
    listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);  // 0: any free port
    status.started(listener.port());
    // A handler's exception closes that connection only and goes to log_failure.
    co_await listener.serve(shout, log_failure);
}

anyio::task<std::string> ask(std::uint16_t port, std::string line) {
    anyio::socket_stream stream = co_await anyio::connect_tcp("127.0.0.1", port);
    co_await stream.send(line);
    co_await stream.send_eof();
    std::string reply;
    try {
        for (;;)
            reply += co_await stream.receive();
    } catch (const anyio::end_of_stream&) {
        // the server closed its side: that is the whole reply
    }
    co_return reply;
}

anyio::task<> main_task() {
    anyio::tcp_listener listener;
    std::uint16_t port = 0;
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        port = co_await tg.start(run_server, std::ref(listener));
        std::string first = co_await ask(port, "hello");
        std::printf("reply: %s\n", first.c_str());
        std::string failed = co_await ask(port, "boom");  // closed without a reply
        std::printf("reply to boom: \"%s\"\n", failed.c_str());
        std::string again = co_await ask(port, "still serving");
        std::printf("reply: %s\n", again.c_str());
        listener.close();  // serve returns once the open connections finished
    });

    // Nobody listens there any more: connect_error names the address.
    try {
        anyio::socket_stream refused = co_await anyio::connect_tcp("127.0.0.1", port);
    } catch (const anyio::connect_error& error) {
        std::printf("%s (errno %d, address %s)\n", error.what(), error.code().value(),
                    error.address().to_string().c_str());
    }

    // UNIX sockets: the same streams and listeners. '@' names an abstract socket (no file).
    const std::string path = "@anyio-docs-" + std::to_string(getpid());
    anyio::unix_listener unix_listener = co_await anyio::create_unix_listener(path);
    anyio::socket_stream client = co_await anyio::connect_unix(path);
    anyio::socket_stream server = co_await unix_listener.accept();
    co_await client.send("over a UNIX socket");
    std::string received = co_await server.receive();
    std::printf("%s, listener at %s\n", received.c_str(), unix_listener.path().c_str());
}

int main() {
    return anyio::run_main(main_task);
}
