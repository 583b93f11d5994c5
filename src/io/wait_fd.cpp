// wait_readable / wait_writable: one epoll registration per wait, on a duplicate of the
// caller's descriptor, so the caller's descriptor is never registered, modified or closed
// by anyio, and a read waiter and a write waiter on one descriptor do not collide in epoll
// (which knows a registration by descriptor number).

#include <anyio/detail/runtime.hpp>
#include <anyio/exceptions.hpp>
#include <anyio/wait_fd.hpp>

#include "core/io_source.hpp"
#include "core/loop.hpp"

#include <cerrno>
#include <coroutine>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

namespace anyio::detail {
namespace {

enum class fd_direction : std::uint8_t { read, write };

class fd_wait;

// The waits of this thread's loop, by (descriptor, direction): finds the busy case and
// the waits notify_closing ends. A loop runs on one thread, so thread_local is per loop.
thread_local std::map<std::pair<int, fd_direction>, fd_wait*> tl_waits;

class fd_wait final : protected blocking_operation, private io_source {
public:
    fd_wait(int fd, fd_direction direction) noexcept : fd_(fd), direction_(direction) {}
    fd_wait(const fd_wait&) = delete;
    fd_wait& operator=(const fd_wait&) = delete;
    ~fd_wait() { release(); }

    bool await_ready() const noexcept { return false; }

    bool await_suspend(std::coroutine_handle<> h) {
        if (fd_ < 0) throw std::invalid_argument("anyio: wait on a negative file descriptor");
        if (!begin(h, "waiting on a file descriptor")) return false;
        const auto key = std::make_pair(fd_, direction_);
        if (tl_waits.contains(key)) {
            throw busy_resource_error(direction_ == fd_direction::read
                                          ? "anyio: another task is already waiting for this "
                                            "file descriptor to become readable"
                                          : "anyio: another task is already waiting for this "
                                            "file descriptor to become writable");
        }
        dup_ = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
        if (dup_ < 0) {
            throw std::system_error(errno, std::generic_category(),
                                    "anyio: wait on file descriptor " + std::to_string(fd_));
        }
        loop_ = task_->owner;
        epoll_event ev{};
        ev.events = (direction_ == fd_direction::read ? EPOLLIN | EPOLLRDHUP : EPOLLOUT) |
                    EPOLLONESHOT;  // one report is all a wait needs
        const auto token = static_cast<std::uint64_t>(
            reinterpret_cast<std::uintptr_t>(static_cast<io_source*>(this)));
        try {
            loop_->backend().add(dup_, ev.events, token);
        } catch (const std::system_error& error) {
            ::close(std::exchange(dup_, -1));
            // No poll support: always ready, as poll(2) says; the wait is a checkpoint.
            if (error.code().value() != EPERM) throw;
            yield_now();
            return true;
        }
        registered_ = true;
        loop_->track(*this);
        tl_waits.emplace(key, this);
        listed_ = true;
        park();
        return true;
    }

    void await_resume() {
        release();
        throw_if_aborted();
        if (closed_)
            throw closed_resource_error("anyio: the file descriptor was closed while waiting");
    }

    // notify_closing: wakes this wait with closed_resource_error.
    void close_notified() noexcept {
        unlist();
        closed_ = true;
        finish();
    }

private:
    void on_ready(std::uint32_t) noexcept override {
        // EPOLLONESHOT: no second report; unregistering waits for the task (await_resume),
        // since on_ready may only wake tasks. A wait already withdrawn (cancelled, or
        // notify_closing) has been woken: it must not be scheduled twice.
        if (!listed_) return;
        unlist();
        finish();
    }

    void on_loop_closed() noexcept override {
        registered_ = false;
        loop_ = nullptr;
    }

    bool withdraw() noexcept override {
        unlist();
        return true;
    }

    void unlist() noexcept {
        if (listed_) tl_waits.erase(std::make_pair(fd_, direction_));
        listed_ = false;
    }

    void release() noexcept {
        unlist();
        if (registered_) {
            loop_->backend().remove(dup_);
            loop_->untrack(*this);
            registered_ = false;
        }
        if (dup_ >= 0) ::close(std::exchange(dup_, -1));
    }

    int fd_;
    fd_direction direction_;
    int dup_ = -1;
    loop* loop_ = nullptr;
    bool registered_ = false;
    bool listed_ = false;
    bool closed_ = false;
};

}  // namespace
}  // namespace anyio::detail

namespace anyio {

task<void> wait_readable(int fd) {
    co_await detail::fd_wait(fd, detail::fd_direction::read);
}

task<void> wait_writable(int fd) {
    co_await detail::fd_wait(fd, detail::fd_direction::write);
}

void notify_closing(int fd) noexcept {
    for (const auto direction : {detail::fd_direction::read, detail::fd_direction::write}) {
        const auto found = detail::tl_waits.find(std::make_pair(fd, direction));
        if (found != detail::tl_waits.end()) found->second->close_notified();
    }
}

}  // namespace anyio
