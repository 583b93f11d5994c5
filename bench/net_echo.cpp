// The anyio_cpp row of ../shared/bench/net (its README, "The server contract"): a TCP line
// echo server on 127.0.0.1, one loop thread, written with the library's public API only.
//
//   net_echo --port PORT     (0: any free port; prints "listening on PORT" once listening)
//
// Each complete line comes back unchanged, the lines of one receive in one send. SIGTERM
// closes the listener (new connections are refused) and gives the open connections 5 s to
// finish; then those left are cancelled and the program exits with status 0. Accepted TCP
// streams already have TCP_NODELAY (socket_stream.hpp).

#include <anyio/anyio.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

namespace {

anyio::task<> echo_lines(anyio::socket_stream client) {
    std::string tail;  // a line not complete yet
    try {
        for (;;) {
            std::string bytes = co_await client.receive();  // end_of_stream at EOF
            if (!tail.empty()) bytes.insert(0, tail);
            const std::size_t lines = bytes.rfind('\n') + 1;  // npos + 1 == 0: no whole line
            tail.assign(bytes, lines);
            if (lines == 0) continue;
            bytes.resize(lines);
            co_await client.send(bytes);
        }
    } catch (const anyio::end_of_stream&) {
        // every complete line is answered; a partial tail at EOF is unspecified
    } catch (const anyio::broken_resource_error&) {
        // the client reset the connection: nobody left to answer
    }
}

anyio::task<> serve(int port) {
    // Opened before the ready line, so a SIGTERM sent right after it is received.
    auto sigterm = anyio::open_signal_receiver(SIGTERM);
    anyio::tcp_listener listener = co_await anyio::create_tcp_listener("127.0.0.1", port);
    std::printf("listening on %u\n", static_cast<unsigned>(listener.port()));
    std::fflush(stdout);

    anyio::cancel_scope connections;  // no deadline until SIGTERM
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        tg.start_soon([&]() -> anyio::task<> {
            co_await sigterm.receive();
            listener.close();  // serve() returns once the open connections finish
            connections.set_deadline(anyio::deadline_after(std::chrono::seconds(5)));
        });
        co_await connections.run([&]() -> anyio::task<> { co_await listener.serve(echo_lines); });
    });
}

}  // namespace

int main(int argc, char** argv) {
    char* end = nullptr;
    const long port = argc == 3 ? std::strtol(argv[2], &end, 10) : -1;
    if (argc != 3 || std::strcmp(argv[1], "--port") != 0 || *argv[2] == '\0' || *end != '\0' ||
        port < 0 || port > 65535) {
        std::fprintf(stderr, "usage: net_echo --port PORT   (PORT 0..65535, 0: any free port)\n");
        return 2;
    }
    try {
        return anyio::run_main(serve, static_cast<int>(port));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "net_echo: %s\n", e.what());
        return 1;
    }
}
