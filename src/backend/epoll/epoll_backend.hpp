#pragma once
// The Linux backend: one epoll instance plus an eventfd that wakes it from other threads
// and from signal handlers. The narrow interface the core needs: poll with a timeout,
// wake (thread-safe and async-signal-safe), register file descriptors.

#include <chrono>
#include <cstdint>
#include <span>

#include <sys/epoll.h>

namespace anyio::detail {

class epoll_backend {
public:
    epoll_backend();
    epoll_backend(const epoll_backend&) = delete;
    epoll_backend& operator=(const epoll_backend&) = delete;
    ~epoll_backend();

    // Waits for events for at most `timeout` (negative: forever, zero: just look).
    // Returns how many entries of `out` were filled; EINTR counts as zero events.
    // Readiness of the wake fd is reported with data.u64 == wake_token and consumed.
    int poll(std::chrono::nanoseconds timeout, std::span<epoll_event> out);

    // Makes a concurrent or upcoming poll() return. Async-signal-safe.
    void wake() const noexcept;
    [[nodiscard]] int wake_fd() const noexcept { return wake_fd_; }

    void add(int fd, std::uint32_t events, std::uint64_t token) const;
    void modify(int fd, std::uint32_t events, std::uint64_t token) const;
    void remove(int fd) const noexcept;

    static constexpr std::uint64_t wake_token = ~std::uint64_t{0};

private:
    void drain_wake_fd() const noexcept;
    int epoll_fd_ = -1;
    int wake_fd_ = -1;
};

}  // namespace anyio::detail
