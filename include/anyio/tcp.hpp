#pragma once
// TCP: connect to a host (AnyIO's connect_tcp), or listen for connections
// (create_tcp_listener). IPv4 and IPv6.
//
//     anyio::socket_stream stream = co_await anyio::connect_tcp("example.com", 80);
//     co_await stream.send("GET / HTTP/1.0\r\n\r\n");

#include <anyio/socket_listener.hpp>
#include <anyio/socket_stream.hpp>
#include <anyio/task.hpp>

#include <string>

namespace anyio {

// Connects to `host` (a name, or a numeric IPv4 / IPv6 address) on `port` (1..65535).
// A name is resolved on a worker thread, never on the loop thread; the resolved addresses
// are tried in order until one accepts. A checkpoint; cancellation abandons the attempt
// (resolution included) and closes its socket. Throws std::invalid_argument for a bad port
// or an empty host, resolve_error when the host cannot be resolved, connect_error (with the
// errno and the address) when no address accepted. Loop thread only.
[[nodiscard]] task<socket_stream> connect_tcp(std::string host, int port);

// Listens on `local_host` and `local_port` (0: an ephemeral port, see tcp_listener::port()).
// local_host "" listens on every interface, IPv6 and IPv4 ("::" dual-stack, or "0.0.0.0"
// where IPv6 is unavailable); "0.0.0.0", "::", a numeric address or a name (its first
// address) listen there only. SO_REUSEADDR is set, so a restarted server gets its port back
// at once. `backlog` bounds the queue of connections not accepted yet (the kernel caps it at
// net.core.somaxconn). A checkpoint. Throws std::invalid_argument for a bad port or
// backlog, resolve_error for an unknown host, std::system_error (e.g. address in use)
// naming the address otherwise. Loop thread only.
[[nodiscard]] task<tcp_listener> create_tcp_listener(std::string local_host = "",
                                                     int local_port = 0, int backlog = 65536);

}  // namespace anyio
