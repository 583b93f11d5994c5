#include "backend/epoll/epoll_backend.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <system_error>

#include <sys/eventfd.h>
#include <unistd.h>

namespace anyio::detail {

namespace {

#if defined(__SANITIZE_THREAD__)
constexpr bool deferred_signal_handlers = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool deferred_signal_handlers = true;
#else
constexpr bool deferred_signal_handlers = false;
#endif
#else
constexpr bool deferred_signal_handlers = false;
#endif

[[noreturn]] void throw_errno(const char* what) {
    throw std::system_error(errno, std::generic_category(), what);
}
}  // namespace

epoll_backend::epoll_backend() {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) throw_errno("anyio: epoll_create1");
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) {
        const int saved = errno;
        ::close(epoll_fd_);
        errno = saved;
        throw_errno("anyio: eventfd");
    }
    try {
        add(wake_fd_, EPOLLIN, wake_token);
    } catch (...) {
        ::close(wake_fd_);
        ::close(epoll_fd_);
        throw;
    }
}

epoll_backend::~epoll_backend() {
    ::close(wake_fd_);
    ::close(epoll_fd_);
}

int epoll_backend::poll(std::chrono::nanoseconds timeout, std::span<epoll_event> out) {
    int n = 0;
    if (timeout < std::chrono::nanoseconds::zero()) {
        n = ::epoll_wait(epoll_fd_, out.data(), static_cast<int>(out.size()), -1);
    } else if (deferred_signal_handlers) {
        // ThreadSanitizer runs a signal handler that arrived in ordinary code at the next
        // call it intercepts, and it does not intercept epoll_pwait2: the handler would wait
        // for the timeout. epoll_wait is intercepted; round up to whole milliseconds.
        const auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
        n = ::epoll_wait(epoll_fd_, out.data(), static_cast<int>(out.size()),
                         static_cast<int>(std::min<long long>(ms, 24LL * 3600 * 1000)));
    } else {
        const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
        const timespec ts{static_cast<time_t>(secs.count()),
                          static_cast<long>((timeout - secs).count())};
        n = ::epoll_pwait2(epoll_fd_, out.data(), static_cast<int>(out.size()), &ts, nullptr);
    }
    if (n < 0) {
        if (errno == EINTR) return 0;
        throw_errno("anyio: epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
        if (out[static_cast<std::size_t>(i)].data.u64 == wake_token) drain_wake_fd();
    }
    return n;
}

void epoll_backend::wake() const noexcept {
    const std::uint64_t one = 1;
    // EAGAIN means the counter is saturated: the loop is awake anyway.
    [[maybe_unused]] const ssize_t written = ::write(wake_fd_, &one, sizeof one);
}

void epoll_backend::drain_wake_fd() const noexcept {
    std::uint64_t value = 0;
    [[maybe_unused]] const ssize_t got = ::read(wake_fd_, &value, sizeof value);
}

void epoll_backend::add(int fd, std::uint32_t events, std::uint64_t token) const {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = token;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) < 0) throw_errno("anyio: epoll_ctl(ADD)");
}

void epoll_backend::modify(int fd, std::uint32_t events, std::uint64_t token) const {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = token;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) < 0) throw_errno("anyio: epoll_ctl(MOD)");
}

void epoll_backend::remove(int fd) const noexcept {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

}  // namespace anyio::detail
