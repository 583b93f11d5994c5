#pragma once
// Test support for socket tests: line I/O over streams, echo handlers, descriptor counts.

#include <anyio/anyio.hpp>

#include "support/descriptors.hpp"

#include <cstddef>
#include <string>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace anyio_test {

// Receives until a newline; returns the line without it ("" plus end_of_stream if the
// stream ends first). `pending` keeps bytes received past the newline for the next call.
inline anyio::task<std::string> receive_line(anyio::byte_stream& stream, std::string& pending) {
    for (;;) {
        const auto newline = pending.find('\n');
        if (newline != std::string::npos) {
            std::string line = pending.substr(0, newline);
            pending.erase(0, newline + 1);
            co_return line;
        }
        pending += co_await stream.receive();
    }
}

inline anyio::task<std::string> receive_line(anyio::byte_stream& stream) {
    std::string pending;
    co_return co_await receive_line(stream, pending);
}

// Sends back every byte until the peer ends its side, then ends ours. By reference, for
// callers that keep the stream; socket_listener::serve hands a handler taking
// socket_stream& the connection's own stream.
inline anyio::task<> echo(anyio::socket_stream& stream) {
    char buffer[4096];
    for (;;) {
        std::size_t n = 0;
        try {
            n = co_await stream.receive_into(buffer);
        } catch (const anyio::end_of_stream&) {
            break;
        }
        co_await stream.send(std::string_view(buffer, n));
    }
    co_await stream.send_eof();
}

// True if a socket can bind to ::1 (some containers have no IPv6).
inline bool ipv6_loopback_available() {
    const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_addr = in6addr_loopback;
    const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return ok;
}

}  // namespace anyio_test
