#include <anyio/byte_stream.hpp>
#include <anyio/exceptions.hpp>
#include <anyio/time.hpp>

#include "io/busy_guard.hpp"
#include "io/fd_watch.hpp"

#include <cerrno>
#include <csignal>
#include <ctime>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace anyio {

namespace {

using detail::busy_guard;

[[noreturn]] void throw_io_error(int error, const char* what) {
    if (error == ECONNRESET || error == EPIPE || error == ENOTCONN) {
        throw broken_resource_error(std::string("anyio: ") + what + ": " +
                                    std::generic_category().message(error));
    }
    throw std::system_error(error, std::generic_category(), std::string("anyio: ") + what);
}

// write(2) on a pipe whose reader is gone raises SIGPIPE at the calling thread, which
// would kill the process; block it around the call and consume the one write raised.
ssize_t write_without_sigpipe(int fd, const char* data, std::size_t size) {
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigset_t previous;
    pthread_sigmask(SIG_BLOCK, &pipe_only, &previous);
    sigset_t pending;
    sigpending(&pending);
    const bool already_pending = sigismember(&pending, SIGPIPE) == 1;
    const ssize_t n = ::write(fd, data, size);
    const int error = errno;
    if (n < 0 && error == EPIPE && !already_pending) {
        const timespec no_wait{};
        while (sigtimedwait(&pipe_only, nullptr, &no_wait) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    errno = error;
    return n;
}

}  // namespace

byte_stream::byte_stream() noexcept = default;

byte_stream::byte_stream(int fd) : watch_(std::make_unique<detail::fd_watch>(fd)) {
    struct stat info {};
    is_socket_ = ::fstat(fd, &info) == 0 && S_ISSOCK(info.st_mode);
    is_write_only_ = !is_socket_ && (::fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY;
}

byte_stream byte_stream::adopt(int fd) {
    return byte_stream(fd);
}

byte_stream::byte_stream(byte_stream&&) noexcept = default;
byte_stream& byte_stream::operator=(byte_stream&&) noexcept = default;
byte_stream::~byte_stream() = default;

bool byte_stream::is_open() const noexcept {
    return watch_ && watch_->is_open();
}

int byte_stream::native_handle() const noexcept {
    return watch_ ? watch_->fd() : -1;
}

void byte_stream::close() noexcept {
    if (watch_) watch_->close();
}

task<> byte_stream::aclose() {
    close();
    co_await checkpoint();
}

task<std::size_t> byte_stream::receive_into(std::span<char> buffer) {
    if (buffer.empty()) throw std::invalid_argument("anyio: receive_into needs a non-empty buffer");
    const busy_guard busy(receiving_, "anyio: another task is already receiving on this stream");
    co_await checkpoint();
    for (;;) {
        if (!is_open()) throw closed_resource_error("anyio: receive on a closed stream");
        const int fd = watch_->fd();
        const ssize_t n = is_socket_ ? ::recv(fd, buffer.data(), buffer.size(), 0)
                                     : ::read(fd, buffer.data(), buffer.size());
        if (n >= 0) co_return static_cast<std::size_t>(n);
        const int error = errno;
        if (error == EINTR) continue;
        if (error != EAGAIN && error != EWOULDBLOCK) throw_io_error(error, "receive");
        co_await watch_->wait(detail::io_direction::read);
    }
}

task<std::string> byte_stream::receive(std::size_t max_bytes) {
    if (max_bytes == 0) throw std::invalid_argument("anyio: receive needs max_bytes > 0");
    std::string bytes(max_bytes, '\0');
    const std::size_t n = co_await receive_into(bytes);
    if (n == 0) throw end_of_stream();
    bytes.resize(n);
    co_return bytes;
}

task<> byte_stream::send(std::string_view bytes) {
    const busy_guard busy(sending_, "anyio: another task is already sending on this stream");
    co_await checkpoint();
    do {
        if (!is_open() || eof_sent_) {
            throw closed_resource_error(eof_sent_ ? "anyio: send after send_eof"
                                                  : "anyio: send on a closed stream");
        }
        const int fd = watch_->fd();
        const ssize_t n = is_socket_ ? ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL)
                                     : write_without_sigpipe(fd, bytes.data(), bytes.size());
        if (n >= 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        const int error = errno;
        if (error == EINTR) continue;
        if (error != EAGAIN && error != EWOULDBLOCK) throw_io_error(error, "send");
        co_await watch_->wait(detail::io_direction::write);
    } while (!bytes.empty());
}

task<> byte_stream::send_eof() {
    co_await checkpoint();
    if (!is_open()) throw closed_resource_error("anyio: send_eof on a closed stream");
    if (eof_sent_) co_return;
    if (sending_) throw busy_resource_error("anyio: send_eof while a send is running");
    eof_sent_ = true;
    if (is_socket_) {
        if (::shutdown(watch_->fd(), SHUT_WR) < 0 && errno != ENOTCONN) {
            throw_io_error(errno, "shutdown");
        }
    } else if (is_write_only_) {
        close();
    }
}

}  // namespace anyio
