// Tutorial step 7: a service under systemd (or Kubernetes). anyio::service takes over the
// signals of steps 3 and 4: it says READY=1 once the port is bound, RELOADING=1 and
// READY=1 around a reload on SIGHUP, STOPPING=1 on SIGTERM or Ctrl+C, then stops
// accepting and drains within the grace period. Without $NOTIFY_SOCKET nothing is sent
// and the rest still holds.
//
//   tutorial_step7 CONFIG [PORT]
#include "tutorial_kv.hpp"

#include <anyio/anyio.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <utility>

struct server {
    std::string config_path;
    kv::config config;
    kv::store db;
    anyio::tcp_listener listener;
};

anyio::task<> handle_connection(anyio::socket_stream client, server& s, anyio::service& svc) {
    kv::line_reader reader(client);
    for (;;) {
        std::optional<std::string> line;
        auto read = [&]() -> anyio::task<> { line = co_await reader.read_line(); };
        const bool in_time = co_await anyio::move_on_after(s.config.idle_timeout, read);
        if (!in_time) {
            co_await client.send("BYE idle\n");
            co_return;
        }
        if (!line) co_return;
        std::string reply;
        if (*line == "SAVE") {
            kv::store copy = s.db;
            const std::size_t saved = co_await anyio::to_thread::run_sync(
                kv::save_snapshot, s.config.snapshot, std::move(copy));
            reply = "OK saved " + std::to_string(saved) + " key(s)\n";
        } else {
            reply = kv::execute(s.db, *line, s.config.read_only);
        }
        co_await client.send(reply);
        svc.note_progress();  // while draining: keeps systemd's stop timeout extended
    }
}

anyio::task<> main_task(std::string config_path, int port) {
    server s;
    s.config_path = config_path;
    s.config = kv::load_config(config_path);

    anyio::service_options options;
    options.grace_period = s.config.grace;
    anyio::service service(options);  // opens its signal receivers when run starts
    // SIGHUP. Throwing keeps the old configuration; the service reports why in STATUS=.
    service.on_reload([&s]() -> anyio::task<> {
        s.config = co_await anyio::to_thread::run_sync(kv::load_config, s.config_path);
        std::printf("reloaded %s: read_only=%d\n", s.config_path.c_str(), s.config.read_only);
        std::fflush(stdout);
    });
    // SIGTERM or Ctrl+C: closing the listener makes serve() return once the open
    // connections finish; after the grace period the service cancels them.
    service.on_stop_accepting([&s] {
        s.listener.close();
        std::printf("stopping: not accepting, draining\n");
        std::fflush(stdout);
    });

    co_await service.run([&s, port](anyio::service& svc) -> anyio::task<> {
        s.listener = co_await anyio::create_tcp_listener("127.0.0.1", port);
        std::printf("listening on port %d\n", s.listener.port());
        std::fflush(stdout);
        svc.ready("serving on port " + std::to_string(s.listener.port()));
        co_await s.listener.serve(
            [&s, &svc](anyio::socket_stream client) {
                return handle_connection(std::move(client), s, svc);
            },
            kv::log_connection_error);
    });
    std::printf("%s\n", service.drain_cut_short() ? "grace period over: connections cancelled"
                                                  : "all connections finished");
}

int main(int argc, char** argv) {
    return kv::main_with_config(argc, argv, main_task);
}
