// Tutorial step 3: a graceful stop. On SIGTERM the server stops accepting, gives the open
// connections a grace period to finish, then cancels them.
//
//   tutorial_step3 [PORT [GRACE_MS]]
#include "tutorial_kv.hpp"

#include <anyio/anyio.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>

anyio::task<> handle_connection(anyio::socket_stream client, kv::store& db) {
    kv::line_reader reader(client);
    for (;;) {
        std::optional<std::string> line = co_await reader.read_line();
        if (!line) co_return;
        const std::string reply = kv::execute(db, *line);
        co_await client.send(reply);
    }
}

// Waits for SIGTERM, stops accepting, and after `grace` cancels the connections.
anyio::task<> stop_on_sigterm(anyio::signal_receiver signals, anyio::tcp_listener& listener,
                              anyio::cancel_scope& connections, std::chrono::milliseconds grace) {
    co_await signals.receive();
    listener.close();  // new connections are refused; serve() waits for the open ones
    std::printf("SIGTERM: not accepting, draining for %lld ms\n",
                static_cast<long long>(grace.count()));
    std::fflush(stdout);
    co_await anyio::sleep(grace);
    connections.cancel();
}

anyio::task<> main_task(int port, std::chrono::milliseconds grace) {
    // Opened first: a SIGTERM that comes once the port is announced is not missed (without
    // a receiver, SIGTERM still kills the process at once).
    anyio::signal_receiver signals = anyio::open_signal_receiver(SIGTERM);
    kv::store db;
    anyio::tcp_listener listener = co_await anyio::create_tcp_listener("127.0.0.1", port);
    std::printf("listening on port %d\n", listener.port());
    std::fflush(stdout);

    anyio::cancel_scope connections;
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        // The receiver is move-only: it is moved into the task.
        tg.start_soon(stop_on_sigterm, std::move(signals), std::ref(listener),
                      std::ref(connections), grace);
        auto serve = [&]() -> anyio::task<> {
            co_await listener.serve(
                [&db](anyio::socket_stream client) {
                    return handle_connection(std::move(client), db);
                },
                kv::log_connection_error);
        };
        co_await connections.run(serve);
        tg.cancel_scope().cancel();  // stop_on_sigterm may still wait or sleep
    });
    std::printf("%s\n", connections.cancelled_caught() ? "grace period over: connections cancelled"
                                                       : "all connections finished");
}

int main(int argc, char** argv) {
    const int port = argc > 1 ? std::atoi(argv[1]) : 0;
    const std::chrono::milliseconds grace(argc > 2 ? std::atol(argv[2]) : 5000);
    return anyio::run_main(main_task, port, grace);
}
