// socket_listener: accept4 on a non-blocking listening socket, waiting for readability in
// the loop's epoll between attempts; create_tcp_listener and create_unix_listener.

#include <anyio/cancel_scope.hpp>
#include <anyio/event.hpp>
#include <anyio/exceptions.hpp>
#include <anyio/socket_listener.hpp>
#include <anyio/tcp.hpp>
#include <anyio/time.hpp>
#include <anyio/unix_socket.hpp>

#include "io/busy_guard.hpp"
#include "io/fd_watch.hpp"
#include "net/resolve.hpp"
#include "net/socket_ops.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <system_error>
#include <utility>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace anyio {

namespace detail {

struct listener_state {
    listener_state(int fd, const std::string& path) : watch(fd), owned_path(path) {
        struct stat info {};
        if (!owned_path.empty() && ::stat(owned_path.c_str(), &info) == 0) {
            device = info.st_dev;
            inode = info.st_ino;
        }
    }
    listener_state(const listener_state&) = delete;
    listener_state& operator=(const listener_state&) = delete;
    ~listener_state() { close(); }

    void close() noexcept {
        if (!watch.is_open()) return;
        watch.close();
        closed.set();
        // Remove the socket file only if it is still ours: another server may have replaced
        // it since (after removing ours as stale).
        struct stat info {};
        if (!owned_path.empty() && ::stat(owned_path.c_str(), &info) == 0 &&
            info.st_dev == device && info.st_ino == inode && S_ISSOCK(info.st_mode)) {
            ::unlink(owned_path.c_str());
        }
    }

    fd_watch watch;
    event closed;  // wakes an accept() that is backing off from a lack of descriptors
    bool accepting = false;
    std::string owned_path;  // the UNIX socket file to remove on close, if any
    dev_t device = 0;
    ino_t inode = 0;
};

}  // namespace detail

namespace {

using namespace std::chrono_literals;

// accept4 errors that concern only the connection being accepted (it was reset, or its
// network went away, before we took it): try the next one.
bool is_connection_error(int error) {
    switch (error) {
        case ECONNABORTED:
        case EPROTO:
        case ENETDOWN:
        case ENOPROTOOPT:
        case EHOSTDOWN:
        case ENONET:
        case EHOSTUNREACH:
        case ENETUNREACH:
        case EOPNOTSUPP:
        case EINTR:
            return true;
        default:
            return false;
    }
}

// Out of descriptors or kernel memory: the connection stays queued, and retrying at once
// would spin (the listener stays readable).
bool is_capacity_error(int error) {
    return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

}  // namespace

socket_listener::socket_listener() noexcept = default;
socket_listener::socket_listener(int fd, const socket_address& local, const std::string& owned_path)
    : state_(std::make_unique<detail::listener_state>(fd, owned_path)), local_(local) {}
socket_listener::socket_listener(socket_listener&&) noexcept = default;
socket_listener& socket_listener::operator=(socket_listener&&) noexcept = default;
socket_listener::~socket_listener() = default;

bool socket_listener::is_open() const noexcept {
    return state_ && state_->watch.is_open();
}

int socket_listener::native_handle() const noexcept {
    return state_ ? state_->watch.fd() : -1;
}

void socket_listener::close() noexcept {
    if (state_) state_->close();
}

task<> socket_listener::aclose() {
    close();
    co_await checkpoint();
}

task<socket_stream> socket_listener::accept() {
    if (!state_) throw closed_resource_error("anyio: accept on a closed listener");
    // The state, not `this`: a listener moved while it waits still finds its socket.
    detail::listener_state& state = *state_;
    const detail::busy_guard busy(state.accepting,
                                  "anyio: another task is already accepting on this listener");
    co_await checkpoint();
    auto backoff = std::chrono::milliseconds(100);
    for (;;) {
        if (!state.watch.is_open())
            throw closed_resource_error("anyio: accept on a closed listener");
        sockaddr_storage peer{};
        socklen_t size = sizeof peer;
        const int fd = ::accept4(state.watch.fd(), reinterpret_cast<sockaddr*>(&peer), &size,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            // From here to co_return nothing suspends: a cancellation cannot come between.
            co_return detail::socket_access::make_stream(fd, detail::kernel_address(peer, size));
        }
        const int error = errno;
        if (error == EAGAIN || error == EWOULDBLOCK) {
            co_await state.watch.wait(detail::io_direction::read);
            backoff = std::chrono::milliseconds(100);
        } else if (is_capacity_error(error)) {
            (void)co_await move_on_after(backoff,
                                         [&state]() -> task<> { co_await state.closed.wait(); });
            backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
        } else if (!is_connection_error(error)) {
            throw std::system_error(error, std::generic_category(), "anyio: accept");
        }
    }
}

namespace {

// Binds and listens; the socket is closed if that fails.
int listen_on(const socket_address& address, int backlog, bool dual_stack) {
    const int fd = detail::open_stream_socket(address.family());
    const int on = 1;
    const int off = 0;
    int error = 0;
    if (address.family() != AF_UNIX &&
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) {
        error = errno;
    } else if (dual_stack && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) < 0) {
        error = errno;
    } else if (::bind(fd, address.native(), address.native_size()) < 0) {
        error = errno;
    } else if (::listen(fd, backlog) < 0) {
        error = errno;
    }
    if (error != 0) {
        ::close(fd);
        detail::throw_address_error(error, "listen on", address);
    }
    return fd;
}

// Removes a UNIX socket file nobody listens on any more (a connect to it is refused).
void remove_stale_socket(const std::string& path, const socket_address& address) {
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0 || !S_ISSOCK(info.st_mode)) return;
    const int probe = detail::open_stream_socket(AF_UNIX);
    const bool refused =
        ::connect(probe, address.native(), address.native_size()) < 0 && errno == ECONNREFUSED;
    ::close(probe);
    if (refused) ::unlink(path.c_str());
}

}  // namespace

task<tcp_listener> create_tcp_listener(std::string local_host, int local_port, int backlog) {
    detail::check_port(local_port, 0);
    detail::check_backlog(backlog);
    int fd = -1;
    if (local_host.empty()) {
        co_await checkpoint();
        try {
            fd = listen_on(detail::wildcard_address(AF_INET6, local_port), backlog, true);
        } catch (const std::system_error& e) {
            // No IPv6 on this machine: IPv4 only.
            if (e.code().value() != EAFNOSUPPORT && e.code().value() != EADDRNOTAVAIL) throw;
            fd = listen_on(detail::wildcard_address(AF_INET, local_port), backlog, false);
        }
    } else {
        const std::vector<socket_address> addresses =
            co_await detail::resolve(local_host, local_port, true);
        fd = listen_on(addresses.front(), backlog, false);
    }
    const socket_address local = detail::bound_address(fd);
    co_return detail::socket_access::make_listener<tcp_listener>(fd, local, {});
}

task<unix_listener> create_unix_listener(std::string path, int backlog) {
    const socket_address address = detail::unix_address(path);
    detail::check_backlog(backlog);
    co_await checkpoint();
    const bool abstract = path[0] == '@';
    if (!abstract) remove_stale_socket(path, address);
    const int fd = listen_on(address, backlog, false);
    co_return detail::socket_access::make_listener<unix_listener>(fd, address,
                                                                  abstract ? std::string() : path);
}

}  // namespace anyio
