// Tutorial step 2: a TCP server. Each connection is a task; all of them share the store.
//
//   tutorial_step2 [PORT]     (PORT 0 or none: any free port, printed at start)
#include "tutorial_kv.hpp"

#include <anyio/anyio.hpp>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

anyio::task<> handle_connection(anyio::socket_stream client, kv::store& db) {
    kv::line_reader reader(client);
    for (;;) {
        std::optional<std::string> line = co_await reader.read_line();
        if (!line) co_return;                              // the client hung up
        const std::string reply = kv::execute(db, *line);  // named: see the g++ 12 note
        co_await client.send(reply);
    }
}

anyio::task<> main_task(int port) {
    kv::store db;
    anyio::tcp_listener listener = co_await anyio::create_tcp_listener("127.0.0.1", port);
    std::printf("listening on port %d\n", listener.port());
    std::fflush(stdout);
    // serve() runs the handler for each connection as a child task; it returns only once
    // the listener is closed and every handler finished. A handler's exception (a line too
    // long, a client that resets) ends that connection only and goes to
    // log_connection_error. Nothing closes the listener yet: Ctrl+C cancels everything.
    co_await listener.serve(
        [&db](anyio::socket_stream client) { return handle_connection(std::move(client), db); },
        kv::log_connection_error);
}

int main(int argc, char** argv) {
    const int port = argc > 1 ? std::atoi(argv[1]) : 0;
    return anyio::run_main(main_task, port);
}
