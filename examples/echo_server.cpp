// echo_server: a TCP line-echo server with the two things every real server needs, a
// configuration reload on SIGHUP and a graceful shutdown on SIGTERM or Ctrl+C.
//
//   echo_server --port PORT --config FILE [--grace SECONDS] [--host HOST]
//
// FILE's first line is the reply prefix: each line a client sends comes back as
// prefix + line. SIGHUP re-reads FILE (a broken FILE keeps the old prefix). SIGTERM or
// SIGINT stops accepting at once; open connections get SECONDS (default 5) to finish,
// then they are cancelled, and the program exits with status 0. A second SIGTERM or
// SIGINT cuts the grace period short.
//
//   build/release/examples/echo_server --port 7000 --config prefix.txt &
//   exec 3<>/dev/tcp/127.0.0.1/7000; echo hello >&3; head -n1 <&3

#include <anyio/anyio.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

namespace {

struct options {
    std::string host = "127.0.0.1";
    int port = -1;
    std::string config;
    double grace_seconds = 5;
};

void print(const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

std::string seconds(double s) {
    char text[32];
    std::snprintf(text, sizeof text, "%g s", s);
    return text;
}

void complain(const std::string& line) {
    std::fprintf(stderr, "echo_server: %s\n", line.c_str());
}

// The first line of `file`, or empty with the reason in `why`.
std::optional<std::string> read_prefix(const std::string& file, std::string& why) {
    errno = 0;
    std::ifstream in(file);
    if (!in) {
        why = errno != 0 ? std::strerror(errno) : "cannot open";
        return std::nullopt;
    }
    std::string prefix;
    std::getline(in, prefix);
    if (in.bad()) {
        why = "read error";
        return std::nullopt;
    }
    return prefix;
}

// Replies prefix + line to every complete line, with the prefix current when the line
// arrived. A last line without a newline is answered when the client ends its side.
anyio::task<> echo_lines(anyio::socket_stream& client, const std::string& prefix) {
    std::string pending;
    char buffer[4096];
    for (;;) {
        const std::size_t n = co_await client.receive_into(buffer);
        if (n == 0) break;
        pending.append(buffer, n);
        std::string replies;
        std::size_t start = 0;
        for (auto newline = pending.find('\n'); newline != std::string::npos;
             newline = pending.find('\n', start)) {
            replies += prefix;
            replies.append(pending, start, newline + 1 - start);
            start = newline + 1;
        }
        pending.erase(0, start);
        if (!replies.empty()) co_await client.send(replies);
    }
    if (!pending.empty()) co_await client.send(prefix + pending + "\n");
}

// One connection. A client that misbehaves (resets, vanishes) ends only its own
// connection; `cancelled` is not a std::exception, so shutdown still goes through.
anyio::task<> serve_client(anyio::socket_stream client, const std::string& prefix,
                           int& open_connections) {
    ++open_connections;
    try {
        co_await echo_lines(client, prefix);
    } catch (const std::exception& e) {
        complain("client " + client.remote_address().to_string() + ": " + e.what());
    }
    --open_connections;
}

anyio::task<> run_server(const options& opts) {
    std::string why;
    std::optional<std::string> loaded = read_prefix(opts.config, why);
    if (!loaded) throw std::runtime_error("cannot read " + opts.config + ": " + why);
    std::string prefix = *loaded;
    int open_connections = 0;

    // Opened before the port is announced, so a signal sent right after is not missed.
    auto signals = anyio::open_signal_receiver(SIGHUP, SIGTERM, SIGINT);
    anyio::tcp_listener listener = co_await anyio::create_tcp_listener(opts.host, opts.port);
    print("listening on " + std::to_string(listener.port()));

    // The scope the connections run in. It has no deadline until shutdown starts; then it
    // gets one, `grace_seconds` away: connections still open then are cancelled.
    anyio::cancel_scope connections;

    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        tg.start_soon([&]() -> anyio::task<> {
            for (;;) {
                const anyio::signal_info info = co_await signals.receive_info();
                // The same request again (`timeout` signals the server and then its process
                // group; a terminal reaches every process of its foreground group): one
                // request is one signal, so it neither reloads twice nor ends the grace.
                if (info.requests == 0) continue;
                const int signum = info.signo;
                if (signum == SIGHUP) {
                    if (std::optional<std::string> fresh = read_prefix(opts.config, why)) {
                        prefix = *fresh;
                        print("reloaded " + opts.config);
                    } else {
                        complain("cannot reload " + opts.config + " (" + why +
                                 "); keeping the old prefix");
                    }
                } else if (listener.is_open()) {
                    listener.close();  // new connections are refused from now on
                    connections.set_deadline(
                        anyio::deadline_after(std::chrono::duration<double>(opts.grace_seconds)));
                    print(std::string(signum == SIGINT ? "interrupted" : "terminated") +
                          ": not accepting; " + std::to_string(open_connections) +
                          " open connection(s) have " + seconds(opts.grace_seconds) + " to finish");
                } else {
                    connections.cancel();  // a second request: no more grace
                }
            }
        });

        // serve() returns once the listener is closed and every connection finished.
        co_await connections.run([&]() -> anyio::task<> {
            co_await listener.serve([&](anyio::socket_stream client) {
                return serve_client(std::move(client), prefix, open_connections);
            });
        });
        if (connections.cancelled_caught()) {
            print("grace period over: cancelled the remaining connection(s)");
        } else {
            print("all connections finished");
        }
        tg.cancel_scope().cancel();  // stop watching signals
    });
}

std::optional<options> parse_arguments(int argc, char** argv) {
    options opts;
    for (int i = 1; i < argc; ++i) {
        const std::string_view flag = argv[i];
        if (i + 1 >= argc) return std::nullopt;
        const char* value = argv[++i];
        char* end = nullptr;
        errno = 0;
        if (flag == "--port") {
            const long port = std::strtol(value, &end, 10);
            if (*value == '\0' || *end != '\0' || errno != 0 || port < 0 || port > 65535) {
                return std::nullopt;
            }
            opts.port = static_cast<int>(port);
        } else if (flag == "--grace") {
            opts.grace_seconds = std::strtod(value, &end);
            if (*value == '\0' || *end != '\0' || errno != 0 || !(opts.grace_seconds >= 0)) {
                return std::nullopt;
            }
        } else if (flag == "--config") {
            opts.config = value;
        } else if (flag == "--host") {
            opts.host = value;
        } else {
            return std::nullopt;
        }
    }
    if (opts.port < 0 || opts.config.empty()) return std::nullopt;
    return opts;
}

}  // namespace

int main(int argc, char** argv) {
    const std::optional<options> opts = parse_arguments(argc, argv);
    if (!opts) {
        std::fprintf(
            stderr,
            "usage: echo_server --port PORT --config FILE [--grace SECONDS] [--host HOST]\n"
            "  PORT 0..65535 (0: any free port, printed at start); FILE's first line is\n"
            "  the reply prefix (re-read on SIGHUP); SIGTERM / Ctrl+C give open\n"
            "  connections SECONDS (default 5) to finish.\n");
        return 2;
    }
    try {
        // run_main: a Ctrl+C before the signal receiver is open ends the program the Unix
        // way (by SIGINT) instead of as an uncaught exception.
        return anyio::run_main(run_server, *opts);
    } catch (const std::exception& e) {
        complain(e.what());
        return 1;
    }
}
