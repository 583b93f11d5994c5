// Socket activation: the sd_listen_fds(3) protocol read without libsystemd, and the passed
// descriptors turned into the library's listeners.

#include <anyio/socket_activation.hpp>
#include <anyio/tcp.hpp>

#include "net/socket_ops.hpp"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace anyio {

namespace {

// SD_LISTEN_FDS_START: the manager passes its sockets from descriptor 3 on.
constexpr int first_passed_fd = 3;

[[noreturn]] void throw_activation_error(const std::string& message) {
    throw socket_activation_error("anyio: socket activation: " + message);
}

// A variable's value, if set (copied: it is removed from the environment next).
std::optional<std::string> variable(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr) return std::nullopt;
    return std::string(value);
}

// A decimal number without sign, spaces or trailing text, up to `max`: a value systemd
// never writes ("-1", "3x", "") means something else set the variable, so it is refused
// rather than read leniently as strtoul would.
unsigned long long parse_count(const char* name, const std::string& value, unsigned long long max) {
    unsigned long long result = 0;
    bool ok = !value.empty() && value.size() <= 20;
    for (const char c : value) {
        if (!ok) break;
        if (c < '0' || c > '9') {
            ok = false;
            break;
        }
        const auto digit = static_cast<unsigned long long>(c - '0');
        if (result > (max - digit) / 10) {
            ok = false;
            break;
        }
        result = result * 10 + digit;
    }
    if (!ok) {
        throw_activation_error(std::string("$") + name + " is \"" + value +
                               "\", not a number from 0 to " + std::to_string(max));
    }
    return result;
}

// How many descriptors this process may have: a larger $LISTEN_FDS cannot be true.
unsigned long long passable_descriptors() {
    rlimit limit{};
    unsigned long long open_max = INT_MAX;
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
        limit.rlim_cur < open_max) {
        open_max = limit.rlim_cur;
    }
    return open_max > first_passed_fd ? open_max - first_passed_fd : 0;
}

// $LISTEN_FDNAMES split at ':', empty fields kept (as systemd does); "" is no names.
std::vector<std::string> split_names(const std::string& names) {
    std::vector<std::string> result;
    if (names.empty()) return result;
    std::string::size_type start = 0;
    for (;;) {
        const auto colon = names.find(':', start);
        result.push_back(names.substr(start, colon - start));
        if (colon == std::string::npos) break;
        start = colon + 1;
    }
    return result;
}

int socket_option(int fd, int option, const char*& reason) {
    int value = 0;
    socklen_t size = sizeof value;
    if (::getsockopt(fd, SOL_SOCKET, option, &value, &size) < 0) {
        reason = "its socket options cannot be read";
        return -1;
    }
    return value;
}

// Why `fd` cannot be served as a listener, or nullptr when it can. Makes it close-on-exec
// first: a child started before the listener is taken must not inherit it.
const char* unusable_reason(int fd) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0) return "it is not open";
    if (::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) return "it cannot be made close-on-exec";
    struct stat info {};
    if (::fstat(fd, &info) < 0 || !S_ISSOCK(info.st_mode)) return "it is not a socket";
    const char* reason = nullptr;
    const int type = socket_option(fd, SO_TYPE, reason);
    if (reason != nullptr) return reason;
    if (type != SOCK_STREAM) return "it is not a stream socket";
    const int listening = socket_option(fd, SO_ACCEPTCONN, reason);
    if (reason != nullptr) return reason;
    if (listening != 1) return "it is not listening";
    const int family = socket_option(fd, SO_DOMAIN, reason);
    if (reason != nullptr) return reason;
    if (family != AF_INET && family != AF_INET6 && family != AF_UNIX)
        return "it is not an IPv4, IPv6 or UNIX socket";
    return nullptr;
}

// The passed descriptors were given to this process: when they cannot be used, keeping
// them open would only leak them.
void close_open_descriptors(int count) noexcept {
    for (int fd = first_passed_fd; fd < first_passed_fd + count; ++fd) {
        if (::fcntl(fd, F_GETFD) >= 0) ::close(fd);
    }
}

bool is_tcp_family(int family) noexcept {
    return family == AF_INET || family == AF_INET6;
}

}  // namespace

activated_sockets activated_sockets::from_environment() {
    const std::optional<std::string> pid_text = variable("LISTEN_PID");
    const std::optional<std::string> count_text = variable("LISTEN_FDS");
    const std::optional<std::string> names_text = variable("LISTEN_FDNAMES");
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    if (!pid_text) return {};
    const unsigned long long pid = parse_count("LISTEN_PID", *pid_text, INT_MAX);
    if (pid == 0) throw_activation_error("$LISTEN_PID is \"0\", not a process id");
    // Variables inherited from a parent that was activated (and did not remove them) are
    // not ours: its descriptors, if still open here, belong to whatever opened them.
    if (pid != static_cast<unsigned long long>(::getpid())) return {};
    if (!count_text) return {};
    const unsigned long long max = passable_descriptors();
    const unsigned long long count = parse_count("LISTEN_FDS", *count_text, max);
    std::vector<std::string> names;
    if (names_text) {
        names = split_names(*names_text);
        if (names.size() != count) {
            throw_activation_error(
                "$LISTEN_FDNAMES is \"" + *names_text + "\": " + std::to_string(names.size()) +
                " names for $LISTEN_FDS=" + std::to_string(count) + " descriptors");
        }
    }

    // Nothing is sized by the count before the descriptors prove real: a wrong count within
    // the open-file limit (which may be a million) must not cost memory first.
    const int n = static_cast<int>(count);
    std::vector<passed_socket> sockets;
    try {
        for (int i = 0; i < n; ++i) {
            const int fd = first_passed_fd + i;
            std::string name = names.empty() ? std::string("unknown") : std::move(names[i]);
            const char* reason = unusable_reason(fd);
            if (reason != nullptr) {
                throw_activation_error("descriptor " + std::to_string(fd) + " (\"" + name +
                                       "\") cannot be used: " + reason);
            }
            sockaddr_storage local{};
            socklen_t size = sizeof local;
            if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &size) < 0) {
                throw_activation_error(
                    "descriptor " + std::to_string(fd) + " (\"" + name +
                    "\"): getsockname failed: " + std::generic_category().message(errno));
            }
            sockets.push_back({fd, std::move(name), detail::kernel_address(local, size)});
        }
    } catch (...) {
        close_open_descriptors(n);
        throw;
    }
    return activated_sockets(std::move(sockets));
}

activated_sockets::activated_sockets(std::vector<passed_socket> sockets) noexcept
    : sockets_(std::move(sockets)) {}

activated_sockets::activated_sockets(activated_sockets&& other) noexcept
    : sockets_(std::exchange(other.sockets_, {})) {}

activated_sockets& activated_sockets::operator=(activated_sockets&& other) noexcept {
    if (this != &other) {
        close_all();
        sockets_ = std::exchange(other.sockets_, {});
    }
    return *this;
}

activated_sockets::~activated_sockets() {
    close_all();
}

void activated_sockets::close_all() noexcept {
    for (passed_socket& socket : sockets_) {
        if (socket.fd >= 0) ::close(std::exchange(socket.fd, -1));
    }
}

const std::string& activated_sockets::name(std::size_t index) const {
    return sockets_.at(index).name;
}

const socket_address& activated_sockets::address(std::size_t index) const {
    return sockets_.at(index).address;
}

namespace {

// The listener code waits in epoll and expects EAGAIN: a blocking accept would stall the
// loop. (The flag is on the open file description, shared with the manager's copy;
// systemd's own sockets are non-blocking already.)
void make_non_blocking(int fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        throw std::system_error(
            errno, std::generic_category(),
            "anyio: socket activation: fcntl(O_NONBLOCK) on descriptor " + std::to_string(fd));
    }
}

}  // namespace

template <class Listener>
std::optional<Listener> activated_sockets::take(std::size_t index, bool tcp) {
    if (index >= sockets_.size() || sockets_[index].fd < 0) return std::nullopt;
    passed_socket& socket = sockets_[index];
    if (is_tcp_family(socket.address.family()) != tcp) {
        throw_activation_error("descriptor " + std::to_string(socket.fd) + " (\"" + socket.name +
                               "\") listens on " + socket.address.to_string() + ", not a " +
                               (tcp ? "TCP" : "UNIX") + " socket");
    }
    make_non_blocking(socket.fd);
    // No owned path: the manager created the socket file and keeps it for the next start.
    std::optional<Listener> listener(
        detail::socket_access::make_listener<Listener>(socket.fd, socket.address, {}));
    socket.fd = -1;
    return listener;
}

std::optional<std::size_t> activated_sockets::find(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < sockets_.size(); ++i) {
        if (sockets_[i].fd >= 0 && sockets_[i].name == name) return i;
    }
    return std::nullopt;
}

std::optional<tcp_listener> activated_sockets::take_tcp(std::size_t index) {
    return take<tcp_listener>(index, true);
}

std::optional<tcp_listener> activated_sockets::take_tcp(std::string_view name) {
    const std::optional<std::size_t> index = find(name);
    if (!index) return std::nullopt;
    return take<tcp_listener>(*index, true);
}

std::optional<unix_listener> activated_sockets::take_unix(std::size_t index) {
    return take<unix_listener>(index, false);
}

std::optional<unix_listener> activated_sockets::take_unix(std::string_view name) {
    const std::optional<std::size_t> index = find(name);
    if (!index) return std::nullopt;
    return take<unix_listener>(*index, false);
}

std::optional<tcp_listener> activated_sockets::take_first_tcp() {
    for (std::size_t i = 0; i < sockets_.size(); ++i) {
        if (sockets_[i].fd >= 0 && is_tcp_family(sockets_[i].address.family()))
            return take<tcp_listener>(i, true);
    }
    return std::nullopt;
}

task<tcp_listener> activated_or_tcp_listener(activated_sockets& activated, std::string name,
                                             std::string host, int port) {
    std::optional<tcp_listener> listener =
        name.empty() ? activated.take_first_tcp() : activated.take_tcp(name);
    if (listener) co_return std::move(*listener);
    co_return co_await create_tcp_listener(std::move(host), port);
}

}  // namespace anyio
