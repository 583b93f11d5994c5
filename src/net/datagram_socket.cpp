// Datagram sockets: recvmsg / sendto on a non-blocking socket, waiting in the loop's epoll
// between attempts (see datagram_socket.hpp for the rules).

#include <anyio/datagram_socket.hpp>
#include <anyio/exceptions.hpp>
#include <anyio/time.hpp>

#include "core/schedule_point.hpp"
#include "io/busy_guard.hpp"
#include "io/fd_watch.hpp"
#include "net/socket_ops.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

namespace anyio {

namespace detail {

struct datagram_state {
    datagram_state(int fd, int socket_family) : watch(fd), family(socket_family) {}
    fd_watch watch;
    int family;  // AF_INET, AF_INET6 or AF_UNIX
    bool receiving = false;
    bool sending = false;
};

}  // namespace detail

namespace {

using detail::busy_guard;

int socket_family(int fd) {
    int family = AF_UNSPEC;
    socklen_t size = sizeof family;
    if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &size) < 0) return AF_UNSPEC;
    return family;
}

std::string describe(int error) {
    return std::generic_category().message(error);
}

[[noreturn]] void throw_receive_error(int error) {
    if (error == ECONNREFUSED) {
        throw std::system_error(error, std::generic_category(),
                                "anyio: receive: an earlier datagram was refused by the peer "
                                "(nothing listens at its address)");
    }
    if (error == ECONNRESET) {
        throw broken_resource_error("anyio: receive: " + describe(error));
    }
    throw std::system_error(error, std::generic_category(), "anyio: receive");
}

[[noreturn]] void throw_send_error(int error, std::size_t size, const socket_address& to) {
    const std::string where = to.family() == AF_UNSPEC ? "the peer" : to.to_string();
    if (error == EMSGSIZE) {
        throw std::system_error(error, std::generic_category(),
                                "anyio: a datagram of " + std::to_string(size) +
                                    " bytes is too large to send to " + where);
    }
    if (error == EPIPE || error == ECONNRESET) {
        throw broken_resource_error("anyio: send to " + where + ": " + describe(error));
    }
    throw std::system_error(error, std::generic_category(), "anyio: send to " + where);
}

// Where a receive of up to 64 KiB reads before it knows the datagram's size: one buffer per
// thread, used only between the read and the copy that follows, never across a suspension
// (a socket waiting for datagrams holds no buffer; a datagram costs its own size).
char* receive_scratch() {
    thread_local const std::unique_ptr<char[]> scratch(new char[default_max_datagram]);
    return scratch.get();
}

// One recvmsg: the datagram, or nothing if none is queued. MSG_TRUNC makes the kernel
// report a datagram's full length even when it did not fit, so none is returned cut short.
std::optional<datagram> try_receive(int fd, std::size_t max_bytes) {
    std::string owned;
    char* buffer = nullptr;
    if (max_bytes <= default_max_datagram) {
        buffer = receive_scratch();
    } else {
        owned.resize(max_bytes);
        buffer = owned.data();
    }
    for (;;) {
        sockaddr_storage sender{};
        iovec part{buffer, max_bytes};
        msghdr message{};
        message.msg_name = &sender;
        message.msg_namelen = sizeof sender;
        message.msg_iov = &part;
        message.msg_iovlen = 1;
        const ssize_t n = ::recvmsg(fd, &message, MSG_TRUNC);
        if (n < 0) {
            const int error = errno;
            if (error == EINTR) continue;
            if (error == EAGAIN || error == EWOULDBLOCK) return std::nullopt;
            throw_receive_error(error);
        }
        const auto size = static_cast<std::size_t>(n);
        if (size > max_bytes || (message.msg_flags & MSG_TRUNC) != 0) {
            throw std::system_error(EMSGSIZE, std::generic_category(),
                                    "anyio: received a datagram of " + std::to_string(size) +
                                        " bytes, more than max_bytes " + std::to_string(max_bytes) +
                                        "; it was discarded");
        }
        datagram result;
        result.sender = detail::kernel_address(sender, message.msg_namelen);
        if (owned.empty()) {
            result.data.assign(buffer, size);
        } else {
            owned.resize(size);
            owned.shrink_to_fit();
            result.data = std::move(owned);
        }
        return result;
    }
}

// The sockaddr a send goes to: `to` itself, or for an IPv6 socket and an IPv4 address the
// IPv4-mapped IPv6 address. Throws std::invalid_argument for any other mismatch.
struct destination {
    sockaddr_storage storage{};
    socklen_t size = 0;
};

destination native_destination(const socket_address& to, int family) {
    destination result;
    if (to.family() == family) {
        std::memcpy(&result.storage, to.native(), to.native_size());
        result.size = to.native_size();
        return result;
    }
    if (family == AF_INET6 && to.family() == AF_INET) {
        sockaddr_in6 mapped{};
        const auto& ipv4 = *reinterpret_cast<const sockaddr_in*>(to.native());
        mapped.sin6_family = AF_INET6;
        mapped.sin6_port = ipv4.sin_port;
        mapped.sin6_addr.s6_addr[10] = 0xff;
        mapped.sin6_addr.s6_addr[11] = 0xff;
        std::memcpy(&mapped.sin6_addr.s6_addr[12], &ipv4.sin_addr, sizeof ipv4.sin_addr);
        std::memcpy(&result.storage, &mapped, sizeof mapped);
        result.size = sizeof mapped;
        return result;
    }
    const char* const names[] = {"an IPv4", "an IPv6", "a UNIX", "an unknown"};
    auto name = [&](int f) {
        return names[f == AF_INET ? 0 : f == AF_INET6 ? 1 : f == AF_UNIX ? 2 : 3];
    };
    throw std::invalid_argument(
        std::string("anyio: cannot send to ") +
        (to.family() == AF_UNSPEC ? "an empty address" : "\"" + to.to_string() + "\"") + " (" +
        name(to.family()) + " address) from " + name(family) + " datagram socket");
}

}  // namespace

datagram_socket_base::datagram_socket_base() noexcept = default;
datagram_socket_base::datagram_socket_base(int fd, const socket_address& local) : local_(local) {
    try {
        state_ = std::make_unique<detail::datagram_state>(fd, socket_family(fd));
    } catch (...) {
        ::close(fd);
        throw;
    }
}
datagram_socket_base::datagram_socket_base(datagram_socket_base&&) noexcept = default;
datagram_socket_base& datagram_socket_base::operator=(datagram_socket_base&&) noexcept = default;
datagram_socket_base::~datagram_socket_base() = default;

bool datagram_socket_base::is_open() const noexcept {
    return state_ && state_->watch.is_open();
}

int datagram_socket_base::native_handle() const noexcept {
    return state_ ? state_->watch.fd() : -1;
}

void datagram_socket_base::close() noexcept {
    if (state_) state_->watch.close();
}

task<> datagram_socket_base::aclose() {
    close();
    co_await checkpoint();
}

task<datagram> datagram_socket_base::receive_datagram(std::size_t max_bytes) {
    if (max_bytes == 0) throw std::invalid_argument("anyio: receive needs max_bytes > 0");
    if (!state_) throw closed_resource_error("anyio: receive on a closed datagram socket");
    // The state, not `this`, from here on (as the listener does).
    detail::datagram_state& state = *state_;
    const busy_guard busy(state.receiving,
                          "anyio: another task is already receiving on this datagram socket");
    detail::throw_if_cancelled("receive()");
    for (bool waited = false;; waited = true) {
        if (!state.watch.is_open()) {
            throw closed_resource_error("anyio: receive on a closed datagram socket");
        }
        if (std::optional<datagram> received = try_receive(state.watch.fd(), max_bytes)) {
            if (!waited) co_await detail::cancel_shielded_yield{};
            co_return std::move(*received);
        }
        co_await state.watch.wait(detail::io_direction::read);
    }
}

task<std::string> connected_datagram_socket::receive(std::size_t max_bytes) {
    datagram received = co_await receive_datagram(max_bytes);
    co_return std::move(received.data);
}

task<> datagram_socket_base::send_datagram(std::string_view bytes, std::optional<socket_address> to,
                                           socket_address peer) {
    if (!state_) throw closed_resource_error("anyio: send on a closed datagram socket");
    detail::datagram_state& state = *state_;
    const busy_guard busy(state.sending,
                          "anyio: another task is already sending on this datagram socket");
    detail::throw_if_cancelled("send()");
    const bool connected = !to.has_value();
    const destination where = connected ? destination{} : native_destination(*to, state.family);
    // A UNIX sender whose receiver's queue is full gets EAGAIN, yet epoll reports an
    // unconnected socket writable all along (its own buffer has room): poll with a short,
    // growing pause. A connected one is woken when its peer's queue has room.
    const bool poll_when_full = state.family == AF_UNIX && !connected;
    auto pause = std::chrono::milliseconds(1);
    bool waited = false;
    for (;;) {
        if (!state.watch.is_open()) {
            throw closed_resource_error("anyio: send on a closed datagram socket");
        }
        const ssize_t n = ::sendto(
            state.watch.fd(), bytes.data(), bytes.size(), MSG_NOSIGNAL,
            connected ? nullptr : reinterpret_cast<const sockaddr*>(&where.storage), where.size);
        if (n >= 0) break;  // a datagram goes whole or not at all
        const int error = errno;
        if (error == EINTR) continue;
        if (error != EAGAIN && error != EWOULDBLOCK)
            throw_send_error(error, bytes.size(), to.value_or(peer));
        waited = true;
        if (poll_when_full) {
            co_await sleep(pause);
            pause = std::min(pause * 2, std::chrono::milliseconds(50));
        } else {
            co_await state.watch.wait(detail::io_direction::write);
        }
    }
    if (!waited) co_await detail::cancel_shielded_yield{};
}

}  // namespace anyio
