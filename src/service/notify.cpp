// The sd_notify(3) protocol: one datagram of "KEY=VALUE" lines to $NOTIFY_SOCKET.

#include <anyio/service_notify.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

namespace anyio {

namespace {

[[noreturn]] void fail(int error, const std::string& what) {
    throw service_notify_error(std::error_code(error, std::generic_category()), what);
}

[[noreturn]] void refuse(const char* who, const std::string& why) {
    fail(EINVAL, std::string(who) + ": " + why);
}

// The manager's address, or nullptr: not started by a manager (or told to stay quiet).
const char* notify_socket() noexcept {
    const char* address = std::getenv("NOTIFY_SOCKET");
    return address != nullptr && *address != '\0' ? address : nullptr;
}

class owned_fd {
public:
    explicit owned_fd(int fd) noexcept : fd_(fd) {}
    owned_fd(const owned_fd&) = delete;
    owned_fd& operator=(const owned_fd&) = delete;
    ~owned_fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    [[nodiscard]] int get() const noexcept { return fd_; }

private:
    int fd_;
};

std::string cannot_send(const char* who, const char* address) {
    return std::string(who) + ": cannot send to " + address;
}

// A status goes in one STATUS= line: a newline would start a line the manager reads as an
// assignment of its own, and a NUL would cut the datagram short in a C manager.
void check_status(const char* who, std::string_view status) {
    if (status.find('\n') != std::string_view::npos) {
        refuse(who, "the status contains a newline (it must be one line)");
    }
    if (status.find('\0') != std::string_view::npos) {
        refuse(who, "the status contains a NUL byte");
    }
}

// Decimal digits of a number, on the stack: the message needs no allocation.
class decimal {
public:
    template <class Integer>
    explicit decimal(Integer value) noexcept {
        size_ = static_cast<std::size_t>(
            std::to_chars(text_.data(), text_.data() + text_.size(), value).ptr - text_.data());
    }
    [[nodiscard]] std::string_view view() const noexcept { return {text_.data(), size_}; }

private:
    std::array<char, 24> text_{};
    std::size_t size_ = 0;
};

template <std::size_t N>
bool send_if_enabled(const char* who, const std::array<std::string_view, N>& parts) {
    const char* address = notify_socket();
    if (address == nullptr) return false;
    detail::send_notification(who, address, parts.data(), parts.size());
    return true;
}

// The usual message: KEY=1, then the status (if any) in the same datagram, so the manager
// sees the state and its description change together.
bool notify_state(const char* who, std::string_view assignment, std::string_view status) {
    check_status(who, status);
    if (status.empty()) return send_if_enabled(who, std::array{assignment});
    return send_if_enabled(who, std::array{assignment, std::string_view("\nSTATUS="), status});
}

}  // namespace

void detail::send_notification(const char* who, const char* address, const std::string_view* parts,
                               std::size_t count) {
    sockaddr_un to{};
    to.sun_family = AF_UNIX;
    const std::size_t length = std::strlen(address);
    socklen_t to_size = 0;
    if (address[0] == '/') {
        if (length >= sizeof to.sun_path) {
            fail(ENAMETOOLONG, std::string(who) + ": NOTIFY_SOCKET=" + address +
                                   " is too long for a socket path");
        }
        std::memcpy(to.sun_path, address, length + 1);
        to_size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length + 1);
    } else if (address[0] == '@' && length > 1) {
        // Linux's abstract namespace: the name is the bytes after a leading NUL, exactly
        // as long as the address says (no terminator).
        if (length > sizeof to.sun_path) {
            fail(ENAMETOOLONG, std::string(who) + ": NOTIFY_SOCKET=" + address +
                                   " is too long for an abstract socket name");
        }
        std::memcpy(to.sun_path + 1, address + 1, length - 1);
        to_size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);
    } else if (std::strncmp(address, "vsock:", 6) == 0) {
        fail(EAFNOSUPPORT, std::string(who) + ": NOTIFY_SOCKET=" + address +
                               " is an AF_VSOCK address, which is not supported (only a "
                               "path or an '@' abstract name)");
    } else {
        fail(EINVAL, std::string(who) + ": NOTIFY_SOCKET=" + address +
                         " is neither an absolute path nor an '@' abstract name");
    }

    // A new socket per message: nothing to share between threads or keep across fork, and
    // the cost (a few microseconds) is nothing next to how seldom a service changes state.
    const owned_fd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (fd.get() < 0) fail(errno, std::string(who) + ": cannot create a socket");

    std::array<iovec, 8> iov{};
    if (count > iov.size()) fail(EINVAL, std::string(who) + ": too many message parts");
    for (std::size_t i = 0; i < count; ++i) {
        // sendmsg only reads the buffers; iovec has no const version.
        iov[i].iov_base = const_cast<char*>(parts[i].data());
        iov[i].iov_len = parts[i].size();
    }
    msghdr message{};
    message.msg_name = &to;
    message.msg_namelen = to_size;
    message.msg_iov = iov.data();
    message.msg_iovlen = count;
    ssize_t sent = 0;
    do {
        sent = ::sendmsg(fd.get(), &message, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) {
        const int error = errno;
        if (error == EAGAIN || error == EWOULDBLOCK) {
            fail(error, cannot_send(who, address) + " (its queue is full)");
        }
        fail(error, cannot_send(who, address));
    }
}

bool service_notifications_enabled() noexcept {
    return notify_socket() != nullptr;
}

bool notify_service(std::string_view assignments) {
    constexpr const char* who = "anyio::notify_service";
    if (assignments.find('\0') != std::string_view::npos) {
        refuse(who, "the assignments contain a NUL byte");
    }
    std::size_t start = 0;
    for (;;) {
        const std::size_t end = std::min(assignments.find('\n', start), assignments.size());
        const std::string_view line = assignments.substr(start, end - start);
        const std::size_t equals = line.find('=');
        if (equals == std::string_view::npos || equals == 0) {
            // Appended piece by piece: g++ 12 warns falsely (-Wrestrict) on "literal" + string.
            std::string why(1, '"');
            why.append(line);
            why.append("\" is not a KEY=VALUE assignment");
            refuse(who, why);
        }
        if (end == assignments.size()) break;
        start = end + 1;
    }
    return send_if_enabled(who, std::array{assignments});
}

bool notify_ready(std::string_view status) {
    return notify_state("anyio::notify_ready", "READY=1", status);
}

bool notify_reloading(std::string_view status) {
    constexpr const char* who = "anyio::notify_reloading";
    check_status(who, status);
    const char* address = notify_socket();
    if (address == nullptr) return false;
    // Type=notify-reload compares the timestamp with when it asked for the reload, so it is
    // taken now and travels in the same datagram as RELOADING=1.
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    const decimal usec(static_cast<unsigned long long>(now.tv_sec) * 1000000ULL +
                       static_cast<unsigned long long>(now.tv_nsec) / 1000ULL);
    const std::array parts{std::string_view("RELOADING=1\nMONOTONIC_USEC="), usec.view(),
                           std::string_view("\nSTATUS="), status};
    detail::send_notification(who, address, parts.data(), status.empty() ? 2 : 4);
    return true;
}

bool notify_stopping(std::string_view status) {
    return notify_state("anyio::notify_stopping", "STOPPING=1", status);
}

bool notify_status(std::string_view status) {
    constexpr const char* who = "anyio::notify_status";
    check_status(who, status);
    return send_if_enabled(who, std::array{std::string_view("STATUS="), status});
}

bool notify_errno(int error) {
    constexpr const char* who = "anyio::notify_errno";
    if (error <= 0) refuse(who, "the errno must be positive, not " + std::to_string(error));
    const decimal value(error);
    return send_if_enabled(who, std::array{std::string_view("ERRNO="), value.view()});
}

bool notify_extend_timeout(std::chrono::microseconds extension) {
    // 0 would tell the manager the step may take no more time at all.
    const decimal value(extension.count() < 1 ? 1 : extension.count());
    return send_if_enabled("anyio::notify_extend_timeout",
                           std::array{std::string_view("EXTEND_TIMEOUT_USEC="), value.view()});
}

bool notify_main_pid(pid_t pid) {
    constexpr const char* who = "anyio::notify_main_pid";
    if (pid <= 0) refuse(who, "the pid must be positive, not " + std::to_string(pid));
    const decimal value(pid);
    return send_if_enabled(who, std::array{std::string_view("MAINPID="), value.view()});
}

bool notify_watchdog() {
    return send_if_enabled("anyio::notify_watchdog", std::array{std::string_view("WATCHDOG=1")});
}

}  // namespace anyio
