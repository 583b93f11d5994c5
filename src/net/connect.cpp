// connect_tcp and connect_unix: a non-blocking connect() per address, completed by waiting
// for writability in the loop's epoll and reading SO_ERROR.

#include <anyio/exceptions.hpp>
#include <anyio/tcp.hpp>
#include <anyio/time.hpp>
#include <anyio/unix_socket.hpp>

#include "io/fd_watch.hpp"
#include "net/resolve.hpp"
#include "net/socket_ops.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <sys/socket.h>

namespace anyio {

namespace {

using namespace std::chrono_literals;

std::string connect_context(const socket_address& address) {
    return "anyio: connect to " + address.to_string();
}

connect_error connect_failure(int error, const socket_address& address) {
    return connect_error(error, address, connect_context(address));
}

// The connection attempt's outcome once epoll reported the socket writable (or in error):
// 0 when connected, EINPROGRESS when the report was early, else the errno.
int connect_status(int fd) {
    int error = 0;
    socklen_t size = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) < 0) return errno;
    if (error != 0) return error;
    sockaddr_storage peer{};
    socklen_t peer_size = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_size) == 0) return 0;
    return errno == ENOTCONN ? EINPROGRESS : errno;
}

// Connects a new socket to `address`. Cancellation (or any failure) closes the socket: the
// fd_watch owns it until the connection is handed over.
task<socket_stream> connect_to(const socket_address& address) {
    const int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw connect_failure(errno, address);  // e.g. no IPv6: try the next one
    detail::fd_watch socket(fd);
    // A UNIX listener with a full backlog refuses a non-blocking connect with EAGAIN and
    // offers nothing to wait on: retry with a short, growing pause.
    auto pause = std::chrono::milliseconds(1);
    for (;;) {
        if (::connect(socket.fd(), address.native(), address.native_size()) == 0) break;
        const int error = errno;
        if (error == EAGAIN && address.family() == AF_UNIX) {
            co_await sleep(pause);
            pause = std::min(pause * 2, std::chrono::milliseconds(100));
            continue;
        }
        // EINTR: the attempt goes on in the background, as with EINPROGRESS.
        if (error != EINPROGRESS && error != EINTR) throw connect_failure(error, address);
        int status = EINPROGRESS;
        while (status == EINPROGRESS) {
            co_await socket.wait(detail::io_direction::write);
            status = connect_status(socket.fd());
        }
        if (status != 0) throw connect_failure(status, address);
        break;
    }
    co_return detail::socket_access::make_stream(socket.release(), address);
}

}  // namespace

task<socket_stream> connect_tcp(std::string host, int port) {
    detail::check_port(port, 1);
    if (host.empty()) throw std::invalid_argument("anyio: connect_tcp needs a host");
    const std::vector<socket_address> addresses = co_await detail::resolve(host, port, false);
    std::string earlier;  // what() of the attempts before the last
    int last_error = 0;
    for (const socket_address& address : addresses) {
        try {
            co_return co_await connect_to(address);
        } catch (const connect_error& e) {
            last_error = e.code().value();
            if (&address != &addresses.back()) earlier += e.what() + std::string("; ");
        }
    }
    throw connect_error(last_error, addresses.back(), earlier + connect_context(addresses.back()));
}

task<socket_stream> connect_unix(std::string path) {
    const socket_address address = detail::unix_address(path);
    co_await checkpoint();
    co_return co_await connect_to(address);
}

}  // namespace anyio
