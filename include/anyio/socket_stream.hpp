#pragma once
// anyio::socket_stream: a connected stream socket (TCP or UNIX), AnyIO's SocketStream.
// Everything byte_stream does (receive, send, send_eof, aclose, with the same
// cancellation and error rules), plus where the two ends are.
//
// Made by connect_tcp / connect_unix and by a listener's accept(). TCP streams have
// TCP_NODELAY set (small writes go out at once, as in AnyIO). Moving a socket_stream into a
// byte_stream keeps the connection (the addresses are dropped).

#include <anyio/byte_stream.hpp>
#include <anyio/socket_address.hpp>

namespace anyio {

namespace detail {
struct socket_access;
}

class socket_stream : public byte_stream {
public:
    // A closed stream.
    socket_stream() noexcept = default;

    // This end's address (a UNIX client's is usually unnamed: empty). Known from the start,
    // so it stays available after close.
    [[nodiscard]] const socket_address& local_address() const noexcept { return local_; }
    // The peer's address, as connected to or accepted from.
    [[nodiscard]] const socket_address& remote_address() const noexcept { return remote_; }

private:
    friend struct detail::socket_access;
    socket_stream(int fd, const socket_address& local, const socket_address& remote)
        : byte_stream(fd), local_(local), remote_(remote) {}

    socket_address local_;
    socket_address remote_;
};

}  // namespace anyio
