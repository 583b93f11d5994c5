#pragma once
// Pieces shared by the connect and listen paths: making sockets, wrapping connected ones,
// argument checks and errors that name the address.

#include <anyio/socket_address.hpp>
#include <anyio/socket_listener.hpp>
#include <anyio/socket_stream.hpp>

#include <string>

namespace anyio::detail {

// A new non-blocking, close-on-exec stream socket; throws std::system_error.
int open_stream_socket(int family);

// std::system_error for `error` with "anyio: <what> <address>" as its context.
[[noreturn]] void throw_address_error(int error, const char* what, const socket_address& address);

// The address the kernel filled in (accept, getsockname), or an empty one if it is too
// short to hold a family (e.g. an unnamed UNIX peer on some kernels). Never throws for the
// families our sockets use.
socket_address kernel_address(const sockaddr_storage& storage, socklen_t size);

// A new non-blocking, close-on-exec datagram socket; throws std::system_error.
int open_datagram_socket(int family);

// The wildcard address of `family` (AF_INET or AF_INET6) on `port`.
socket_address wildcard_address(int family, int port);

// The address `fd` is bound to (getsockname); closes `fd` and throws std::system_error if
// the kernel cannot tell.
socket_address bound_address(int fd);

// Throws std::invalid_argument unless min_port <= port <= 65535.
void check_port(int port, int min_port);
// Throws std::invalid_argument unless backlog > 0.
void check_backlog(int backlog);

// The sockaddr_un for `path` ('@' at the start: abstract namespace); throws
// std::invalid_argument if empty or too long.
socket_address unix_address(const std::string& path);

struct socket_access {
    // Wraps a connected socket (taking ownership, also if this throws): TCP_NODELAY for
    // TCP, the local address read from the kernel.
    static socket_stream make_stream(int fd, const socket_address& remote);
    template <class Listener>
    static Listener make_listener(int fd, const socket_address& local,
                                  const std::string& owned_path) {
        return Listener(fd, local, owned_path);
    }
    // Wraps a datagram socket (udp_socket, connected_unix_datagram_socket, ...), which owns
    // `fd` from then on.
    template <class Socket, class... Addresses>
    static Socket make_datagram(int fd, const Addresses&... addresses) {
        return Socket(fd, addresses...);
    }
};

}  // namespace anyio::detail
