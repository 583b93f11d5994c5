#include "net/socket_ops.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace anyio::detail {

int open_stream_socket(int family) {
    const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "anyio: socket");
    return fd;
}

int open_datagram_socket(int family) {
    const int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "anyio: socket");
    return fd;
}

socket_address wildcard_address(int family, int port) {
    if (family == AF_INET6) {
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(static_cast<std::uint16_t>(port));
        a.sin6_addr = in6addr_any;
        return socket_address(reinterpret_cast<const sockaddr*>(&a), sizeof a);
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    return socket_address(reinterpret_cast<const sockaddr*>(&a), sizeof a);
}

socket_address bound_address(int fd) {
    sockaddr_storage local{};
    socklen_t size = sizeof local;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &size) < 0) {
        const int error = errno;
        ::close(fd);
        throw std::system_error(error, std::generic_category(), "anyio: getsockname");
    }
    return kernel_address(local, size);
}

void throw_address_error(int error, const char* what, const socket_address& address) {
    throw std::system_error(error, std::generic_category(),
                            std::string("anyio: ") + what + " " + address.to_string());
}

socket_address kernel_address(const sockaddr_storage& storage, socklen_t size) {
    if (size < static_cast<socklen_t>(sizeof(sa_family_t))) return {};
    return socket_address(reinterpret_cast<const sockaddr*>(&storage), size);
}

void check_port(int port, int min_port) {
    if (port < min_port || port > 65535) {
        throw std::invalid_argument("anyio: invalid port " + std::to_string(port) + " (expected " +
                                    std::to_string(min_port) + "..65535)");
    }
}

void check_backlog(int backlog) {
    if (backlog <= 0) {
        throw std::invalid_argument("anyio: invalid backlog " + std::to_string(backlog));
    }
}

socket_address unix_address(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const bool abstract = !path.empty() && path[0] == '@';
    // A file path needs its terminator; an abstract name is counted, not terminated.
    const std::size_t room = sizeof address.sun_path - (abstract ? 0 : 1);
    if (path.empty() || path.size() > room || path.find('\0') != std::string::npos) {
        throw std::invalid_argument("anyio: invalid UNIX socket path \"" + path +
                                    "\" (empty, too long or with a NUL byte)");
    }
    std::memcpy(address.sun_path, path.data(), path.size());
    if (abstract) address.sun_path[0] = '\0';
    const auto size =
        static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (abstract ? 0 : 1));
    return socket_address(reinterpret_cast<const sockaddr*>(&address), size);
}

socket_stream socket_access::make_stream(int fd, const socket_address& remote) {
    try {
        if (remote.family() != AF_UNIX) {
            const int on = 1;
            // Fails only for a connection that is already gone; its first I/O reports that.
            (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        }
        sockaddr_storage local{};
        socklen_t size = sizeof local;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &size) != 0) size = 0;
        return socket_stream(fd, kernel_address(local, size), remote);
    } catch (...) {
        ::close(fd);
        throw;
    }
}

}  // namespace anyio::detail
