#pragma once
// Datagram sockets (UDP and UNIX SOCK_DGRAM), AnyIO's UDPSocket / ConnectedUDPSocket /
// UNIXDatagramSocket / ConnectedUNIXDatagramSocket. This header holds what the four share;
// udp.hpp and unix_datagram.hpp make them.
//
// A datagram is sent whole or not at all, and received whole: never split, never merged,
// never silently cut short. A zero-length datagram is a datagram like any other (there is no
// end of stream on a datagram socket: receive waits for the next one).
//
// Every operation is a checkpoint, as on byte_stream: it throws `cancelled` before acting
// if the task's scope is cancelled, then either waits (cancellably) or completes at once and
// lets the other ready tasks run before returning, without a second check. Cancellation
// loses no datagram: one is taken from the kernel only in the step that returns it. A
// cancelled send sent nothing.
//
// One receive and one send may run at once (a reader task and a writer task); a second
// concurrent receive (or send) gets busy_resource_error. Any operation after close() gets
// closed_resource_error, and so does a task blocked in one when close() is called.
//
// Loop thread only; a socket belongs to the loop of the task that first waits on it. The
// bytes passed to a send must stay alive until it completes (a temporary in the co_await
// expression does). A socket must not be moved or destroyed while an operation on it runs.

#include <anyio/socket_address.hpp>
#include <anyio/task.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace anyio {

namespace detail {
struct datagram_state;
struct socket_access;
}  // namespace detail

// What receive_from() returns: the datagram's bytes and who sent it. `sender` is an IP
// address with port for UDP, the sender's path for a UNIX socket (sender.to_string()), or
// an empty address (family() == AF_UNSPEC) for an unbound UNIX sender, which cannot be
// answered.
struct datagram {
    std::string data;
    socket_address sender;
};

// The largest datagram a receive takes by default: more than any UDP datagram can carry
// (65,507 bytes over IPv4, 65,527 over IPv6), so for UDP the default never refuses one.
inline constexpr std::size_t default_max_datagram = 65536;

// What every datagram socket has: its address, its descriptor, closing.
class datagram_socket_base {
public:
    datagram_socket_base(datagram_socket_base&&) noexcept;
    datagram_socket_base& operator=(datagram_socket_base&&) noexcept;
    datagram_socket_base(const datagram_socket_base&) = delete;
    datagram_socket_base& operator=(const datagram_socket_base&) = delete;
    ~datagram_socket_base();  // closes the descriptor

    // Where this socket is bound ("127.0.0.1:40000", "[::1]:40000", a UNIX path), as the
    // kernel reports it (an ephemeral port is filled in); empty for an unbound UNIX socket.
    // Known from the start, so it stays available after close.
    [[nodiscard]] const socket_address& local_address() const noexcept { return local_; }

    // Closes the socket; a task blocked in a receive or send on it gets
    // closed_resource_error. Idempotent. aclose() is the same plus a checkpoint. A UNIX
    // socket's file is not removed (see unix_datagram.hpp).
    void close() noexcept;
    [[nodiscard]] task<> aclose();

    [[nodiscard]] bool is_open() const noexcept;
    // The descriptor (-1 once closed), for setsockopt and the like; still owned.
    [[nodiscard]] int native_handle() const noexcept;

protected:
    datagram_socket_base() noexcept;
    datagram_socket_base(int fd, const socket_address& local);

    // The implementation of every receive: the next datagram, at most max_bytes (> 0).
    [[nodiscard]] task<datagram> receive_datagram(std::size_t max_bytes);
    // The implementation of every send; no destination: the connected peer, `peer` (for
    // error messages).
    [[nodiscard]] task<> send_datagram(std::string_view bytes,
                                       std::optional<socket_address> destination,
                                       socket_address peer = {});

private:
    std::unique_ptr<detail::datagram_state> state_;
    socket_address local_;
};

// An unconnected datagram socket: receives from anyone, sends to any address.
class datagram_socket : public datagram_socket_base {
public:
    // A closed socket.
    datagram_socket() noexcept = default;

    // The next datagram and its sender. A datagram longer than max_bytes (> 0) is taken from
    // the kernel and thrown away, and std::system_error (EMSGSIZE) names its size and the
    // limit: it is never returned cut short. Throws closed_resource_error,
    // busy_resource_error as described above, std::system_error for other errors.
    [[nodiscard]] task<datagram> receive_from(std::size_t max_bytes = default_max_datagram) {
        return receive_datagram(max_bytes);
    }
    // Sends `bytes` as one datagram to `destination` (for instance a sender from
    // receive_from). Throws std::invalid_argument for an address of another family than
    // the socket's (an IPv6 socket sends to IPv4 addresses as IPv4-mapped ones),
    // std::system_error EMSGSIZE naming the size when the datagram is too large (UDP:
    // more than 65,507 bytes over IPv4; UNIX: more than the send buffer),
    // std::system_error for other errors (e.g. ENOENT for a UNIX path with no socket).
    [[nodiscard]] task<> send_to(std::string_view bytes, socket_address destination) {
        return send_datagram(bytes, std::move(destination));
    }

protected:
    using datagram_socket_base::datagram_socket_base;
};

// A connected datagram socket: sends to its peer only, and receives from it only (the
// kernel drops datagrams from other senders).
class connected_datagram_socket : public datagram_socket_base {
public:
    // A closed socket.
    connected_datagram_socket() noexcept = default;

    // The peer this socket is connected to.
    [[nodiscard]] const socket_address& remote_address() const noexcept { return remote_; }

    // The peer's next datagram (see datagram_socket::receive_from for max_bytes). Also
    // throws std::system_error ECONNREFUSED after an earlier datagram was refused (for UDP:
    // an ICMP "port unreachable" came back, nothing listens at the peer's port); that error
    // is reported once and the socket stays usable.
    [[nodiscard]] task<std::string> receive(std::size_t max_bytes = default_max_datagram);
    // Sends `bytes` as one datagram to the peer. Errors as datagram_socket::send_to, plus
    // ECONNREFUSED as for receive (the refusal goes to whichever call comes first).
    [[nodiscard]] task<> send(std::string_view bytes) {
        return send_datagram(bytes, std::nullopt, remote_);
    }

protected:
    connected_datagram_socket(int fd, const socket_address& local, const socket_address& remote)
        : datagram_socket_base(fd, local), remote_(remote) {}

private:
    socket_address remote_;
};

}  // namespace anyio
