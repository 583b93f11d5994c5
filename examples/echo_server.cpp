// echo_server: a TCP line-echo server that is a complete service: a configuration reload
// on SIGHUP, a graceful shutdown on SIGTERM or Ctrl+C, and the protocols of systemd and
// Kubernetes around them (docs/deploy.md has the unit files and the Deployment).
//
//   echo_server --config FILE [--port PORT] [--host HOST] [--grace SECONDS]
//               [--accept-delay SECONDS] [--health-port PORT] [--max-line BYTES]
//
// FILE's first line is the reply prefix: each line a client sends comes back as
// prefix + line. SIGHUP re-reads FILE (a broken FILE keeps the old prefix). SIGTERM or
// SIGINT turns the health port's /readyz to 503, keeps accepting for the accept delay
// (default 0), then stops accepting; open connections get SECONDS (default 5) to finish,
// then they are cancelled, and the program exits with status 0. A second SIGTERM or
// SIGINT cuts the wait short.
//
// Under systemd it says READY=1 once it listens, RELOADING=1 / READY=1 around a reload,
// STOPPING=1 and EXTEND_TIMEOUT_USEC while it drains, and WATCHDOG=1 when WatchdogSec= is
// set. Started with sockets (a .socket unit, systemd-socket-activate) it serves the one
// named "echo" (or the first) and, if there is one, "health" as the health port; --port
// is then not needed.
//
// --health-port serves GET /readyz and GET /livez (health_endpoint.hpp).
//
// Lines are read through anyio::buffered_byte_stream::receive_until. A line longer than
// BYTES (default 65536, newline not counted) gets the reply "error: line longer than BYTES
// bytes" and the server hangs up on that client, so no client can make the server hold
// more than BYTES + 1 bytes of a line, however much it sends.
//
//   build/release/examples/echo_server --port 7000 --config prefix.txt &
//   exec 3<>/dev/tcp/127.0.0.1/7000; echo hello >&3; head -n1 <&3

#include "health_endpoint.hpp"

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
#include <utility>

namespace {

struct options {
    std::string host = "127.0.0.1";
    int port = -1;
    std::string config;
    double grace_seconds = 5;
    double accept_delay_seconds = 0;
    int health_port = -1;  // -1: no health port
    std::size_t max_line = 65536;
};

std::chrono::milliseconds to_milliseconds(double seconds) {
    return std::chrono::ceil<std::chrono::milliseconds>(std::chrono::duration<double>(seconds));
}

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

// Replies prefix + line to every line, with the prefix current when the line arrived. A
// last line without a newline is answered when the client ends its side. A line longer than
// `max_line` gets an error reply, and the exception ends the connection.
anyio::task<> echo_lines(anyio::buffered_byte_stream& client, const std::string& prefix,
                         std::size_t max_line, anyio::service& service) {
    for (;;) {
        std::string line;
        bool last = false;
        bool too_long = false;
        try {
            // The newline must come within max_line + 1 bytes, and the buffer never holds
            // more: a client's line never costs more than that, however much it sends. An
            // idle client costs no buffer (the stream holds none while it waits).
            line = co_await client.receive_until("\n", max_line + 1);
        } catch (const anyio::end_of_stream&) {
            co_return;  // the client ended its side after a whole line
        } catch (const anyio::incomplete_read&) {
            line = std::string(client.buffer());  // a last line without a newline
            last = true;
        } catch (const anyio::delimiter_not_found&) {
            too_long = true;
        }
        if (too_long) {
            const std::string error = "line longer than " + std::to_string(max_line) + " bytes";
            co_await client.send("error: " + error + "\n");
            // End of stream first: a client that reads on gets the error and then a clean
            // end of stream instead of a reset.
            co_await client.send_eof();
            throw std::runtime_error(error);
        }
        co_await client.send(prefix + line + "\n");
        service.note_progress();
        if (last) co_return;
    }
}

// One connection. A client that misbehaves (resets, vanishes) ends only its own
// connection; `cancelled` is not a std::exception, so shutdown still goes through.
anyio::task<> serve_client(anyio::socket_stream client, const std::string& prefix,
                           std::size_t max_line, int& open_connections, anyio::service& service) {
    ++open_connections;
    const std::string peer = client.remote_address().to_string();
    anyio::buffered_byte_stream lines(std::move(client));
    try {
        co_await echo_lines(lines, prefix, max_line, service);
    } catch (const std::exception& e) {
        complain("client " + peer + ": " + e.what());
    }
    --open_connections;
    service.note_progress();  // a connection that ends is a drain that moves
}

anyio::task<> run_server(const options& opts) {
    std::string why;
    std::optional<std::string> loaded = read_prefix(opts.config, why);
    if (!loaded) throw std::runtime_error("cannot read " + opts.config + ": " + why);
    std::string prefix = *loaded;
    int open_connections = 0;

    // Started by systemd (or systemd-socket-activate) with sockets: use them. Read (and
    // removed from the environment) first thing, so no child ever sees them.
    anyio::activated_sockets activated = anyio::activated_sockets::from_environment();
    if (opts.port < 0 && activated.empty()) {
        throw std::runtime_error("--port is required when not started with a socket");
    }

    anyio::service_options service_options;
    service_options.accept_delay = to_milliseconds(opts.accept_delay_seconds);
    service_options.grace_period = to_milliseconds(opts.grace_seconds);
    // The service opens its signal receivers before the port is announced, so a signal
    // sent right after is not missed.
    anyio::service service(service_options);
    anyio::tcp_listener listener;
    anyio::tcp_listener health_listener;

    service.on_reload([&]() -> anyio::task<> {
        std::optional<std::string> fresh = read_prefix(opts.config, why);
        if (!fresh) {
            complain("cannot reload " + opts.config + " (" + why + "); keeping the old prefix");
            throw std::runtime_error("cannot read " + opts.config + ": " + why);
        }
        prefix = *fresh;
        print("reloaded " + opts.config);
        co_return;
    });
    service.on_stop_accepting([&] {
        listener.close();  // new connections are refused from now on
        const int signo = service.stop_signal();
        print(std::string(signo == SIGINT ? "interrupted" : "terminated") + ": not accepting; " +
              std::to_string(open_connections) + " open connection(s) have " +
              seconds(opts.grace_seconds) + " to finish");
    });

    co_await service.run([&](anyio::service& svc) -> anyio::task<> {
        std::optional<anyio::tcp_listener> taken = activated.take_tcp("echo");
        if (!taken) taken = activated.take_tcp(std::size_t{0});
        if (taken) {
            listener = std::move(*taken);
        } else {
            listener = co_await anyio::create_tcp_listener(opts.host, opts.port);
        }
        std::optional<anyio::tcp_listener> health_taken = activated.take_tcp("health");
        if (health_taken) {
            health_listener = std::move(*health_taken);
        } else if (opts.health_port >= 0) {
            health_listener = co_await anyio::create_tcp_listener(opts.host, opts.health_port);
        }
        print("listening on " + std::to_string(listener.port()));
        if (health_listener.is_open()) print("health on " + std::to_string(health_listener.port()));
        svc.ready("serving on port " + std::to_string(listener.port()));

        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            if (health_listener.is_open()) {
                // Probes are answered until the end, through the drain: that is when a
                // readiness probe has something to say (503).
                tg.start_soon([&]() -> anyio::task<> {
                    co_await health_listener.serve([&](anyio::socket_stream probe) {
                        return health::serve_probe(std::move(probe), svc);
                    });
                });
            }
            // serve() returns once the listener is closed and every connection finished.
            co_await listener.serve([&](anyio::socket_stream client) {
                return serve_client(std::move(client), prefix, opts.max_line, open_connections,
                                    svc);
            });
            tg.cancel_scope().cancel();  // the health port closes with the service
        });
    });
    if (service.drain_cut_short()) {
        print("grace period over: cancelled the remaining connection(s)");
    } else {
        print("all connections finished");
    }
}

// The options, or nothing with the reason in `why`.
std::optional<options> parse_arguments(int argc, char** argv, std::string& why) {
    constexpr double max_seconds = 1e6;
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
            if (*value == '\0' || *end != '\0' || errno != 0 || !(opts.grace_seconds >= 0) ||
                opts.grace_seconds > max_seconds) {
                return bad("a number of seconds 0..1000000");
            }
        } else if (flag == "--accept-delay") {
            opts.accept_delay_seconds = std::strtod(value, &end);
            if (*value == '\0' || *end != '\0' || errno != 0 || !(opts.accept_delay_seconds >= 0) ||
                opts.accept_delay_seconds > max_seconds) {
                return bad("a number of seconds 0..1000000");
            }
        } else if (flag == "--health-port") {
            const long port = std::strtol(value, &end, 10);
            if (*value == '\0' || *end != '\0' || errno != 0 || port < 0 || port > 65535) {
                return bad("a port number 0..65535");
            }
            opts.health_port = static_cast<int>(port);
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
    if (opts.config.empty()) {
        why = "--config is required";
        return std::nullopt;
    }
    if (opts.port < 0 && std::getenv("LISTEN_FDS") == nullptr) {
        why = "--port is required unless started with a socket (LISTEN_FDS)";
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
                     "usage: echo_server --config FILE [--port PORT] [--host HOST]\n"
                     "                   [--grace SECONDS] [--accept-delay SECONDS]\n"
                     "                   [--health-port PORT] [--max-line BYTES]\n"
                     "  PORT 0..65535 (0: any free port, printed at start; not needed when\n"
                     "  started with a socket); FILE's first line is the reply prefix (re-read\n"
                     "  on SIGHUP); SIGTERM / Ctrl+C: /readyz turns 503, accepting goes on for\n"
                     "  the accept delay (default 0), then open connections get the grace\n"
                     "  (default 5) to finish. A line longer than BYTES (default 65536) gets an\n"
                     "  error reply and its connection is closed.\n");
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
