#pragma once
// UDP sockets, IPv4 and IPv6 (AnyIO's create_udp_socket and create_connected_udp_socket).
//
//     anyio::udp_socket server = co_await anyio::create_udp_socket("127.0.0.1", 5353);
//     anyio::datagram request = co_await server.receive_from();
//     co_await server.send_to("reply", request.sender);
//
// What receiving, sending, cancelling and closing do is in datagram_socket.hpp.

#include <anyio/datagram_socket.hpp>
#include <anyio/socket_address.hpp>
#include <anyio/task.hpp>

#include <string>
#include <string_view>

#include <sys/socket.h>

namespace anyio {

namespace detail {
struct socket_access;
}

// A bound, unconnected UDP socket (AnyIO's UDPSocket).
class udp_socket : public datagram_socket {
public:
    // A closed socket.
    udp_socket() noexcept = default;

    using datagram_socket::send_to;
    // Sends `bytes` as one datagram to `host` (a numeric address or a name, looked up on a
    // worker thread) on `port` (1..65535): to the host's first address of this socket's
    // family (an IPv6 socket takes an IPv4 address if the host has no IPv6 one). A
    // checkpoint. Throws std::invalid_argument for a bad port or a host with no address of
    // this socket's family, resolve_error for a host that does not resolve, and what
    // send_to(bytes, address) throws.
    [[nodiscard]] task<> send_to(std::string_view bytes, std::string host, int port);

    // The bound port (the ephemeral one the kernel chose for local_port 0).
    [[nodiscard]] int local_port() const noexcept { return local_address().port(); }

private:
    friend struct detail::socket_access;
    udp_socket(int fd, const socket_address& local) : datagram_socket(fd, local) {}
};

// A UDP socket connected to one peer (AnyIO's ConnectedUDPSocket): send() and receive().
class connected_udp_socket : public connected_datagram_socket {
public:
    // A closed socket.
    connected_udp_socket() noexcept = default;

    [[nodiscard]] int local_port() const noexcept { return local_address().port(); }

private:
    friend struct detail::socket_access;
    connected_udp_socket(int fd, const socket_address& local, const socket_address& remote)
        : connected_datagram_socket(fd, local, remote) {}
};

// A UDP socket bound to `local_host` and `local_port` (0: an ephemeral port, see
// udp_socket::local_port()).
//
// `family` is AF_INET, AF_INET6 or AF_UNSPEC (any). local_host "" binds every interface:
// "0.0.0.0" for AF_INET, "::" for AF_INET6, and for AF_UNSPEC "::" dual-stack (it also
// receives IPv4 datagrams, whose senders appear as IPv4 addresses) or "0.0.0.0" where IPv6
// is unavailable. A numeric address or a name binds its first address of `family`.
// `reuse_port` sets SO_REUSEPORT before binding (several sockets may then share the port,
// the kernel spreading datagrams over them). A checkpoint. Throws std::invalid_argument for
// a bad port or family or a host with no address of `family`, resolve_error for a host that
// does not resolve, std::system_error naming the address (e.g. EADDRINUSE). Loop thread only.
[[nodiscard]] task<udp_socket> create_udp_socket(std::string local_host = "", int local_port = 0,
                                                 int family = AF_UNSPEC, bool reuse_port = false);

// A UDP socket connected to `remote_host` on `remote_port` (1..65535): the host's addresses
// of `family` are tried in order until a socket connects to one (connecting a UDP socket
// sends nothing: it fixes the peer and the local address). local_host / local_port bind it
// first ("" and 0: the kernel picks, from the route to the peer); reuse_port as above. A
// checkpoint. Throws std::invalid_argument for bad ports, an empty host or a bad family,
// resolve_error for a host that does not resolve, connect_error (e.g. ENETUNREACH) naming
// the address when none could be used. Loop thread only.
[[nodiscard]] task<connected_udp_socket> create_connected_udp_socket(
    std::string remote_host, int remote_port, std::string local_host = "", int local_port = 0,
    int family = AF_UNSPEC, bool reuse_port = false);

}  // namespace anyio
