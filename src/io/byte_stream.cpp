#include <anyio/byte_stream.hpp>
#include <anyio/exceptions.hpp>
#include <anyio/time.hpp>

#include "core/schedule_point.hpp"
#include "io/busy_guard.hpp"
#include "io/fd_watch.hpp"

#include <cerrno>
#include <csignal>
#include <ctime>
#include <memory>
#include <optional>
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

std::ptrdiff_t byte_stream::read_some(char* data, std::size_t size) {
    for (;;) {
        if (!is_open()) throw closed_resource_error("anyio: receive on a closed stream");
        const int fd = watch_->fd();
        const ssize_t n = is_socket_ ? ::recv(fd, data, size, 0) : ::read(fd, data, size);
        if (n >= 0) return n;
        const int error = errno;
        if (error == EINTR) continue;
        if (error != EAGAIN && error != EWOULDBLOCK) throw_io_error(error, "receive");
        return -1;
    }
}

task<std::size_t> byte_stream::receive_into(std::span<char> buffer) {
    if (buffer.empty()) throw std::invalid_argument("anyio: receive_into needs a non-empty buffer");
    const busy_guard busy(receiving_, "anyio: another task is already receiving on this stream");
    detail::throw_if_cancelled("receive_into()");
    for (bool waited = false;; waited = true) {
        const std::ptrdiff_t n = read_some(buffer.data(), buffer.size());
        if (n >= 0) {
            if (!waited) co_await detail::cancel_shielded_yield{};
            if (n == 0) throw end_of_stream();
            co_return static_cast<std::size_t>(n);
        }
        co_await watch_->wait(detail::io_direction::read);
    }
}

namespace {
// Where receive() reads before it knows how much arrived: one buffer per thread, used only
// between a read and the copy that follows it, never across a suspension. So a stream
// waiting for data holds no buffer at all (an idle connection costs no 64 KiB), and the
// result is allocated at its real size.
constexpr std::size_t scratch_size = 65536;
char* receive_scratch() {
    thread_local const std::unique_ptr<char[]> scratch(new char[scratch_size]);
    return scratch.get();
}
}  // namespace

std::optional<std::string> byte_stream::try_receive(std::size_t max_bytes) {
    std::string bytes;
    std::ptrdiff_t n = 0;
    if (max_bytes <= scratch_size) {
        char* const scratch = receive_scratch();
        n = read_some(scratch, max_bytes);
        if (n > 0) bytes.assign(scratch, static_cast<std::size_t>(n));
    } else {
        // Larger than the scratch, so this read may fill more than it: its own buffer,
        // shrunk to what came.
        bytes.resize(max_bytes);
        n = read_some(bytes.data(), max_bytes);
        bytes.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
        bytes.shrink_to_fit();
    }
    if (n < 0) return std::nullopt;
    return bytes;  // empty: end of stream
}

task<std::string> byte_stream::receive(std::size_t max_bytes) {
    if (max_bytes == 0) throw std::invalid_argument("anyio: receive needs max_bytes > 0");
    const busy_guard busy(receiving_, "anyio: another task is already receiving on this stream");
    detail::throw_if_cancelled("receive()");
    for (bool waited = false;; waited = true) {
        if (std::optional<std::string> bytes = try_receive(max_bytes)) {
            if (!waited) co_await detail::cancel_shielded_yield{};
            if (bytes->empty()) throw end_of_stream();
            co_return std::move(*bytes);
        }
        co_await watch_->wait(detail::io_direction::read);
    }
}

task<> byte_stream::send(std::string_view bytes) {
    const busy_guard busy(sending_, "anyio: another task is already sending on this stream");
    detail::throw_if_cancelled("send()");
    bool waited = false;
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
        waited = true;
    } while (!bytes.empty());
    if (!waited) co_await detail::cancel_shielded_yield{};
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
