// echo_server: a TCP line-echo server with the two things every real server needs, a
// configuration reload on SIGHUP and a graceful shutdown on SIGTERM or Ctrl+C.
//
//   echo_server --port PORT --config FILE [--grace SECONDS] [--max-line BYTES] [--host HOST]
//
// FILE's first line is the reply prefix: each line a client sends comes back as
// prefix + line. SIGHUP re-reads FILE (a broken FILE keeps the old prefix). SIGTERM or
// SIGINT stops accepting at once; open connections get SECONDS (default 5) to finish,
// then they are cancelled, and the program exits with status 0. A second SIGTERM or
// SIGINT cuts the grace period short.
//
// A line longer than BYTES (default 65536, newline not counted) gets the reply
// "error: line longer than BYTES bytes" and the server hangs up on that client, so no
// client can make the server hold more than BYTES of a line, however much it sends.
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
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

struct options {
    std::string host = "127.0.0.1";
    int port = -1;
    std::string config;
    double grace_seconds = 5;
    std::size_t max_line = 65536;
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
// arrived. A last line without a newline is answered when the client ends its side. A line
// longer than `max_line` gets an error reply, and the exception ends the connection.
anyio::task<> echo_lines(anyio::socket_stream& client, const std::string& prefix,
                         std::size_t max_line) {
    std::string line;  // the line so far; never more than max_line bytes
    for (;;) {
        // receive() holds no buffer while it waits: an idle client costs its task alone.
        std::string received;
        try {
            received = co_await client.receive();
        } catch (const anyio::end_of_stream&) {
            break;
        }
        // Only the bytes just received are searched for a newline (`line` has none), so a
        // long line costs time in proportion to its length, not to its length squared.
        std::string_view fresh(received);
        std::string replies;
        for (;;) {
            const std::size_t newline = fresh.find('\n');
            const std::string_view piece = fresh.substr(0, newline);
            if (line.size() + piece.size() > max_line) {
                // Refused before it is stored: a client's line never costs more than
                // max_line bytes of memory, however much it sends.
                const std::string error = "line longer than " + std::to_string(max_line) + " bytes";
                replies += "error: " + error + "\n";
                co_await client.send(replies);
                // End of stream first: a client that reads on gets the error and then a clean
                // end of stream instead of a reset.
                co_await client.send_eof();
                throw std::runtime_error(error);
            }
            line += piece;
            if (newline == std::string_view::npos) break;
            replies += prefix;
            replies += line;
            replies += '\n';
            line.clear();
            fresh.remove_prefix(newline + 1);
        }
        if (!replies.empty()) co_await client.send(replies);
    }
    if (!line.empty()) co_await client.send(prefix + line + "\n");
}

// One connection. A client that misbehaves (resets, vanishes) ends only its own
// connection; `cancelled` is not a std::exception, so shutdown still goes through.
anyio::task<> serve_client(anyio::socket_stream client, const std::string& prefix,
                           std::size_t max_line, int& open_connections) {
    ++open_connections;
    try {
        co_await echo_lines(client, prefix, max_line);
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
                } else if (info.requests != 0) {
                    connections.cancel();  // a second request: no more grace
                }
                // else the first request again: `timeout` signals the server and then its
                // process group, a terminal every process of its foreground group. One
                // request is one signal: the grace period holds.
            }
        });

        // serve() returns once the listener is closed and every connection finished.
        co_await connections.run([&]() -> anyio::task<> {
            co_await listener.serve([&](anyio::socket_stream client) {
                return serve_client(std::move(client), prefix, opts.max_line, open_connections);
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

// The options, or nothing with the reason in `why`.
std::optional<options> parse_arguments(int argc, char** argv, std::string& why) {
    options opts;
    for (int i = 1; i < argc; ++i) {
        const std::string_view flag = argv[i];
        if (i + 1 >= argc) {
            why = std::string(flag) + " needs a value";
            return std::nullopt;
        }
        const char* value = argv[++i];
        const auto bad = [&](const char* wanted) {
            why = std::string(flag) + " wants " + wanted + ", not \"" + value + "\"";
            return std::nullopt;
        };
        char* end = nullptr;
        errno = 0;
        if (flag == "--port") {
            const long port = std::strtol(value, &end, 10);
            if (*value == '\0' || *end != '\0' || errno != 0 || port < 0 || port > 65535) {
                return bad("a port number 0..65535");
            }
            opts.port = static_cast<int>(port);
        } else if (flag == "--grace") {
            opts.grace_seconds = std::strtod(value, &end);
            if (*value == '\0' || *end != '\0' || errno != 0 || !(opts.grace_seconds >= 0)) {
                return bad("a number of seconds >= 0");
            }
        } else if (flag == "--max-line") {
            const long bytes = std::strtol(value, &end, 10);
            if (*value == '\0' || *end != '\0' || errno != 0 || bytes < 1) {
                return bad("a number of bytes >= 1");
            }
            opts.max_line = static_cast<std::size_t>(bytes);
        } else if (flag == "--config") {
            opts.config = value;
        } else if (flag == "--host") {
            opts.host = value;
        } else {
            why = "unknown option " + std::string(flag);
            return std::nullopt;
        }
    }
    if (opts.port < 0 || opts.config.empty()) {
        why = "--port and --config are required";
        return std::nullopt;
    }
    return opts;
}

}  // namespace

int main(int argc, char** argv) {
    std::string why;
    const std::optional<options> opts = parse_arguments(argc, argv, why);
    if (!opts) {
        complain(why);
        std::fprintf(stderr,
                     "usage: echo_server --port PORT --config FILE [--grace SECONDS]\n"
                     "                   [--max-line BYTES] [--host HOST]\n"
                     "  PORT 0..65535 (0: any free port, printed at start); FILE's first line is\n"
                     "  the reply prefix (re-read on SIGHUP); SIGTERM / Ctrl+C give open\n"
                     "  connections SECONDS (default 5) to finish. A line longer than BYTES\n"
                     "  (default 65536) gets an error reply and its connection is closed.\n");
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
