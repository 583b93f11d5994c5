#include "io/fd_watch.hpp"

#include <anyio/exceptions.hpp>

#include "core/loop.hpp"

#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

namespace anyio::detail {

namespace {
constexpr std::uint32_t readable_events = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
constexpr std::uint32_t writable_events = EPOLLOUT | EPOLLHUP | EPOLLERR;

void set_flags(int fd) {
    const int status = ::fcntl(fd, F_GETFL);
    if (status < 0 || ::fcntl(fd, F_SETFL, status | O_NONBLOCK) < 0) {
        throw std::system_error(errno, std::generic_category(), "anyio: fcntl(O_NONBLOCK)");
    }
    const int fd_flags = ::fcntl(fd, F_GETFD);
    if (fd_flags < 0 || ::fcntl(fd, F_SETFD, fd_flags | FD_CLOEXEC) < 0) {
        throw std::system_error(errno, std::generic_category(), "anyio: fcntl(FD_CLOEXEC)");
    }
}
}  // namespace

fd_watch::fd_watch(int fd) : fd_(fd) {
    if (fd < 0) throw std::invalid_argument("anyio: invalid file descriptor");
    set_flags(fd);
}

fd_watch::~fd_watch() {
    close();
}

void fd_watch::unregister() noexcept {
    if (registered_) {
        loop_->backend().remove(fd_);
        loop_->untrack(*this);
    }
    registered_ = false;
}

void fd_watch::on_loop_closed() noexcept {
    // No task of that loop can still be waiting: its tasks are gone before the loop.
    registered_ = false;
    loop_ = nullptr;
}

void fd_watch::close() noexcept {
    if (fd_ < 0) return;
    unregister();
    ::close(std::exchange(fd_, -1));
    for (readiness_wait*& w : waiters_) {
        if (readiness_wait* waiter = std::exchange(w, nullptr)) {
            waiter->closed_ = true;
            waiter->finish();
        }
    }
}

int fd_watch::release() noexcept {
    unregister();
    return std::exchange(fd_, -1);
}

void fd_watch::register_with_loop() {
    const auto token =
        static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(static_cast<io_source*>(this)));
    // Registering reports the current state as a first edge, so a descriptor that was
    // ready before is not missed.
    loop_->backend().add(fd_, readable_events | writable_events | EPOLLET, token);
    loop_->track(*this);
    registered_ = true;
}

void fd_watch::start_waiting(readiness_wait& waiter) {
    loop* const current = waiter.task_->owner;
    if (registered_ && loop_ != current) {
        throw std::logic_error("anyio: a stream is used from a loop other than its own");
    }
    loop_ = current;
    readiness_wait*& slot = waiters_[index(waiter.direction_)];
    if (slot != nullptr) {
        throw busy_resource_error(waiter.direction_ == io_direction::read
                                      ? "anyio: another task is already receiving on this stream"
                                      : "anyio: another task is already sending on this stream");
    }
    if (!registered_) register_with_loop();
    slot = &waiter;
}

void fd_watch::on_ready(std::uint32_t events) noexcept {
    // An edge in a direction nobody waits for is dropped: whoever waits next has tried
    // its I/O since, and waits for the edge after that attempt.
    const auto wake = [this](io_direction d) {
        if (readiness_wait* w = std::exchange(waiters_[index(d)], nullptr)) w->finish();
    };
    if ((events & readable_events) != 0) wake(io_direction::read);
    if ((events & writable_events) != 0) wake(io_direction::write);
}

bool readiness_wait::await_suspend(std::coroutine_handle<> h) {
    if (!begin(h, "waiting on a stream")) return false;
    if (!watch_.is_open()) {
        closed_ = true;
        yield_now();
        return true;
    }
    watch_.start_waiting(*this);
    park();
    return true;
}

void readiness_wait::throw_closed() {
    throw closed_resource_error("anyio: the stream was closed");
}

bool readiness_wait::withdraw() noexcept {
    readiness_wait*& slot = watch_.waiters_[fd_watch::index(direction_)];
    if (slot == this) slot = nullptr;
    return true;
}

}  // namespace anyio::detail
