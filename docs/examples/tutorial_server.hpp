// Steps 4 to 6 of the tutorial: the server around handle_connection, which each step
// defines. A configuration file, re-read on SIGHUP (a broken file keeps the configuration
// in force); on SIGTERM, stop accepting and drain for the grace period.
#pragma once

#include "tutorial_kv.hpp"

#include <anyio/anyio.hpp>

#include <csignal>
#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <utility>

struct server {
    std::string config_path;
    kv::config config;  // replaced as a whole on reload, on the loop thread
    kv::store db;
    anyio::tcp_listener listener;
    anyio::cancel_scope connections;
};

// One connection: defined by each step.
anyio::task<> handle_connection(anyio::socket_stream client, server& s);

inline void reload(server& s) {
    try {
        s.config = kv::load_config(s.config_path);
        std::printf("reloaded %s: read_only=%d\n", s.config_path.c_str(), s.config.read_only);
    } catch (const std::exception& e) {
        std::printf("reload failed, keeping the old configuration: %s\n", e.what());
    }
    std::fflush(stdout);
}

// SIGHUP: reload. SIGTERM: stop accepting, and after the grace period cancel the
// connections.
inline anyio::task<> handle_signals(anyio::signal_receiver signals, server& s) {
    for (;;) {
        const int signum = co_await signals.receive();
        if (signum == SIGHUP) {
            reload(s);
            continue;
        }
        s.listener.close();  // new connections are refused; serve() waits for the open ones
        std::printf("SIGTERM: not accepting, draining\n");
        std::fflush(stdout);
        co_await anyio::sleep(s.config.grace);
        s.connections.cancel();
    }
}

inline anyio::task<> main_task(std::string config_path, int port) {
    anyio::signal_receiver signals = anyio::open_signal_receiver(SIGTERM, SIGHUP);
    server s;
    s.config_path = config_path;
    s.config = kv::load_config(config_path);  // a broken file at start is fatal
    s.listener = co_await anyio::create_tcp_listener("127.0.0.1", port);
    std::printf("listening on port %d\n", s.listener.port());
    std::fflush(stdout);

    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        tg.start_soon(handle_signals, std::move(signals), std::ref(s));
        auto serve = [&]() -> anyio::task<> {
            co_await s.listener.serve(
                [&s](anyio::socket_stream client) {
                    return handle_connection(std::move(client), s);
                },
                kv::log_connection_error);
        };
        co_await s.connections.run(serve);
        tg.cancel_scope().cancel();
    });
    std::printf("%s\n", s.connections.cancelled_caught()
                            ? "grace period over: connections cancelled"
                            : "all connections finished");
}
