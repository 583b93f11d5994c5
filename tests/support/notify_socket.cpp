#include "support/notify_socket.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace anyio_test {

namespace {

[[noreturn]] void fail(const char* what) {
    throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

notify_socket::notify_socket(bool abstract) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) fail("socket");
    const int on = 1;
    if (::setsockopt(fd_, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) fail("SO_PASSCRED");
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    socklen_t size = 0;
    if (abstract) {
        static std::atomic<int> serial{0};
        address_ = "@anyio-test-notify-" + std::to_string(::getpid()) + "-" +
                   std::to_string(serial.fetch_add(1));
        std::memcpy(address.sun_path + 1, address_.data() + 1, address_.size() - 1);
        size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size());
    } else {
        char pattern[] = "/tmp/anyio-notify-XXXXXX";
        if (::mkdtemp(pattern) == nullptr) fail("mkdtemp");
        directory_ = pattern;
        address_ = directory_ + "/notify";
        std::memcpy(address.sun_path, address_.c_str(), address_.size() + 1);
        size = sizeof address;
    }
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&address), size) != 0) fail("bind");
}

notify_socket::~notify_socket() {
    close();
}

void notify_socket::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!directory_.empty()) {
        ::unlink(address_.c_str());
        ::rmdir(directory_.c_str());
        directory_.clear();
    }
}

std::optional<notify_message> notify_socket::receive(std::chrono::milliseconds wait) {
    pollfd ready{fd_, POLLIN, 0};
    int polled = 0;
    do {
        polled = ::poll(&ready, 1, static_cast<int>(wait.count()));
    } while (polled < 0 && errno == EINTR);
    if (polled < 0) fail("poll");
    if (polled == 0) return std::nullopt;
    char text[65536];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    iovec part{text, sizeof text};
    msghdr message{};
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    const ssize_t got = ::recvmsg(fd_, &message, MSG_CMSG_CLOEXEC);
    if (got < 0) fail("recvmsg");
    notify_message result;
    result.text.assign(text, static_cast<std::size_t>(got));
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
            ucred credentials{};
            std::memcpy(&credentials, CMSG_DATA(c), sizeof credentials);
            result.sender = credentials.pid;
        }
    }
    return result;
}

std::optional<notify_message> notify_socket::receive_containing(const std::string& needle,
                                                                std::chrono::milliseconds wait) {
    const auto until = std::chrono::steady_clock::now() + wait;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        std::optional<notify_message> next = receive(left);
        if (!next || next->text.find(needle) != std::string::npos) return next;
    }
}

}  // namespace anyio_test
