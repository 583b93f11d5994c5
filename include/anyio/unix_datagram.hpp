#pragma once
// UNIX datagram sockets (AnyIO's create_unix_datagram_socket and
// create_connected_unix_datagram_socket): datagrams between processes of one machine,
// addressed by path. A path beginning with '@' names a socket in Linux's abstract namespace
// (no file).
//
// The socket file: binding to a path creates a socket file there, and it stays after the
// socket is closed (as in AnyIO, and as the kernel does): nothing is removed for you,
// neither on close nor before binding. Binding to a path where a file exists (a socket
// file left by an earlier run included) fails with EADDRINUSE; remove the file yourself
// (std::filesystem::remove) when you know it is yours. Abstract names vanish with their
// socket.
//
// An unbound socket (no local path) can send, but its datagrams arrive with an empty
// sender (no reply can reach it). What receiving, sending, cancelling and closing do is in
// datagram_socket.hpp. The default max_bytes of a receive (65,536) is below what a UNIX
// datagram may carry (up to the send buffer, about 200 KiB by default): a longer one is
// refused with EMSGSIZE naming its size, never cut short; pass a larger max_bytes to take it.

#include <anyio/datagram_socket.hpp>
#include <anyio/socket_address.hpp>
#include <anyio/task.hpp>

#include <string>
#include <string_view>

namespace anyio {

namespace detail {
struct socket_access;
}

// An unconnected UNIX datagram socket, bound to a path or not.
class unix_datagram_socket : public datagram_socket {
public:
    // A closed socket.
    unix_datagram_socket() noexcept = default;

    using datagram_socket::send_to;
    // Sends `bytes` as one datagram to the socket at `path`. A checkpoint. Throws
    // std::invalid_argument for an empty or too long path (108 bytes with the terminator),
    // std::system_error naming the path for ENOENT (no socket there), ECONNREFUSED (a file
    // that is no datagram socket, or nobody holds it any more) and the errors of
    // send_to(bytes, address). While the receiver's queue is full it waits (retrying every
    // few milliseconds, as the kernel offers no readiness report for an unconnected sender).
    [[nodiscard]] task<> send_to(std::string_view bytes, std::string path);

private:
    friend struct detail::socket_access;
    unix_datagram_socket(int fd, const socket_address& local) : datagram_socket(fd, local) {}
};

// A UNIX datagram socket connected to the socket at one path: send() and receive(). When
// the peer's queue is full, send() waits for room. A send after the peer's socket was
// closed throws std::system_error ECONNREFUSED.
class connected_unix_datagram_socket : public connected_datagram_socket {
public:
    // A closed socket.
    connected_unix_datagram_socket() noexcept = default;

private:
    friend struct detail::socket_access;
    connected_unix_datagram_socket(int fd, const socket_address& local,
                                   const socket_address& remote)
        : connected_datagram_socket(fd, local, remote) {}
};

// A UNIX datagram socket bound to `local_path` ("" : unbound; see the header comment for the
// socket file). A checkpoint. Throws std::invalid_argument for a too long path,
// std::system_error naming the path (EADDRINUSE when a file is there, EACCES, ENOENT for a
// missing directory). Loop thread only.
[[nodiscard]] task<unix_datagram_socket> create_unix_datagram_socket(std::string local_path = "");

// A UNIX datagram socket connected to the datagram socket at `remote_path`, bound to
// `local_path` first unless it is "" (bind one if the peer is to answer). A checkpoint.
// Throws std::invalid_argument for an empty or too long path, connect_error naming the path
// (ENOENT: nothing there; ECONNREFUSED: no socket holds it; EPROTOTYPE: a stream socket),
// std::system_error for a failed bind as create_unix_datagram_socket. Loop thread only.
[[nodiscard]] task<connected_unix_datagram_socket> create_connected_unix_datagram_socket(
    std::string remote_path, std::string local_path = "");

}  // namespace anyio
