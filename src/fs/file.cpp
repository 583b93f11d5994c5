// async_file: regular files through worker threads, other descriptors non-blocking on the
// loop (include/anyio/file.hpp says why).

#include <anyio/file.hpp>
#include <anyio/time.hpp>
#include <anyio/to_thread.hpp>
#include <anyio/wait_fd.hpp>

#include "core/schedule_point.hpp"
#include "fs/file_state.hpp"
#include "fs/fs_error.hpp"
#include "fs/open_mode.hpp"
#include "io/unique_fd.hpp"

#include <algorithm>
#include <cerrno>
#include <optional>
#include <stdexcept>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace anyio::detail {
namespace {

// readline's read-ahead block, and the most one read of a pipe or socket asks for.
constexpr std::size_t read_block = 64 * 1024;
// read_all's block on a regular file (one worker trip reads the whole file anyway).
constexpr std::size_t read_all_block = 1024 * 1024;
// The most one read(max) asks the kernel for, so a huge `max` is no huge allocation.
constexpr std::size_t read_max = 16 * 1024 * 1024;

// Marks the file busy for one operation; the descriptor of a file closed meanwhile is
// closed when the operation ends.
class file_operation {
public:
    file_operation(std::shared_ptr<file_state> state, const char* what, bool reads, bool writes)
        : state_(std::move(state)) {
        if (!state_ || state_->closed) throw closed_resource_error("anyio: the file is closed");
        if (reads && !state_->readable) {
            throw_fs_error(what, state_->name, EBADF);  // Python: "not readable"
        }
        if (writes && !state_->writable) throw_fs_error(what, state_->name, EBADF);
        if (state_->busy) {
            throw busy_resource_error("anyio: another task is already using this file");
        }
        state_->busy = true;
    }
    file_operation(const file_operation&) = delete;
    file_operation& operator=(const file_operation&) = delete;
    ~file_operation() {
        state_->busy = false;
        if (state_->closed && state_->fd >= 0) ::close(std::exchange(state_->fd, -1));
    }
    file_state& operator*() const noexcept { return *state_; }
    file_state* operator->() const noexcept { return state_.get(); }
    [[nodiscard]] const std::shared_ptr<file_state>& shared() const noexcept { return state_; }

private:
    std::shared_ptr<file_state> state_;
};

std::size_t buffered(const file_state& s) noexcept {
    return s.read_ahead.size() - s.read_pos;
}

// The next `n` read-ahead bytes (n <= buffered(s)).
std::string take(file_state& s, std::size_t n) {
    if (s.read_pos == 0 && n == s.read_ahead.size()) return std::exchange(s.read_ahead, {});
    std::string out = s.read_ahead.substr(s.read_pos, n);
    s.read_pos += n;
    if (s.read_pos == s.read_ahead.size()) {
        s.read_ahead.clear();
        s.read_pos = 0;
    }
    return out;
}

void append(file_state& s, const std::string& bytes) {
    if (s.read_pos > 0) {
        s.read_ahead.erase(0, s.read_pos);
        s.read_pos = 0;
    }
    s.read_ahead += bytes;
}

// Worker thread (regular files): one read(2) of up to `max` bytes; "" at end of file.
std::string read_chunk(std::shared_ptr<file_state> s, std::size_t max) {
    max = std::min(max, read_max);
    std::string out(max, '\0');
    ssize_t n;
    do {
        n = ::read(s->fd, out.data(), max);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw_fs_error("read", s->name);
    out.resize(static_cast<std::size_t>(n));
    return out;
}

// Worker thread (regular files): reads to the end of the file into the read-ahead, so a
// cancelled read_all keeps what it read. Sized by fstat, so a whole file is one allocation
// and one read(2), plus the read(2) that sees the end, into the same allocation.
void read_rest(std::shared_ptr<file_state> s) {
    struct stat st {};
    std::size_t room = read_all_block;
    if (::fstat(s->fd, &st) == 0 && st.st_size > 0) {
        const off_t pos = ::lseek(s->fd, 0, SEEK_CUR);
        if (pos >= 0 && st.st_size > pos) room = static_cast<std::size_t>(st.st_size - pos) + 1;
    }
    std::string& buffer = s->read_ahead;
    if (s->read_pos > 0) {
        buffer.erase(0, s->read_pos);
        s->read_pos = 0;
    }
    std::size_t filled = buffer.size();
    buffer.resize(filled + room);
    const auto keep = [&] { buffer.resize(filled); };
    for (;;) {
        if (filled == buffer.size()) buffer.resize(filled + std::max(filled, read_all_block));
        const ssize_t n = ::read(s->fd, buffer.data() + filled, buffer.size() - filled);
        if (n < 0) {
            if (errno == EINTR) continue;
            const int error = errno;
            keep();
            throw_fs_error("read", s->name, error);
        }
        if (n == 0) return keep();
        filled += static_cast<std::size_t>(n);
    }
}

// Worker thread (regular files): writes everything, first putting the offset back over
// bytes read ahead (they were not consumed).
void write_all(std::shared_ptr<file_state> s, std::string data) {
    if (buffered(*s) > 0) {
        if (::lseek(s->fd, -static_cast<off_t>(buffered(*s)), SEEK_CUR) < 0) {
            throw_fs_error("write", s->name);
        }
        s->read_ahead.clear();
        s->read_pos = 0;
    }
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(s->fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_fs_error("write", s->name);
        }
        done += static_cast<std::size_t>(n);
    }
}

void sync_file(std::shared_ptr<file_state> s) {
    if (::fsync(s->fd) < 0) throw_fs_error("fsync", s->name);
}

void close_file(unique_fd fd, std::filesystem::path name) {
    // close(2) releases the descriptor even when it reports an error: never retry.
    if (::close(fd.release()) < 0 && errno != EINTR) throw_fs_error("close", name);
}

struct opened {
    unique_fd fd;
    bool regular = true;
};

// Worker thread: open(2), refusing a directory as Python does; a descriptor that is not
// a regular file (or block device) becomes non-blocking, for the loop to wait on.
opened open_in_worker(std::filesystem::path name, int flags) {
    int fd;
    do {
        fd = ::open(name.c_str(), flags, 0666);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) throw_fs_error("open", name);
    opened result{unique_fd(fd), true};
    struct stat st {};
    if (::fstat(fd, &st) < 0) throw_fs_error("open", name);
    if (S_ISDIR(st.st_mode)) throw_fs_error("open", name, EISDIR);
    result.regular = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode);
    if (!result.regular) {
        const int status = ::fcntl(fd, F_GETFL);
        if (status < 0 || ::fcntl(fd, F_SETFL, status | O_NONBLOCK) < 0) {
            throw_fs_error("open", name);
        }
    }
    return result;
}

// Loop thread (not a regular file): one non-blocking read, waiting on epoll while there is
// nothing; "" at end of file. Cancelled while waiting, it read nothing.
task<std::string> read_nonblocking(std::shared_ptr<file_state> s, std::size_t max) {
    throw_if_cancelled("reading a file");
    std::string out(std::min(max, read_block), '\0');
    for (;;) {
        const ssize_t n = ::read(s->fd, out.data(), out.size());
        if (n >= 0) {
            out.resize(static_cast<std::size_t>(n));
            co_await cancel_shielded_yield{};
            co_return out;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            co_await wait_readable(s->fd);
        } else if (errno != EINTR) {
            throw_fs_error("read", s->name);
        }
        if (s->closed) throw closed_resource_error("anyio: the file was closed while reading");
    }
}

task<std::string> read_raw(const std::shared_ptr<file_state>& s, std::size_t max) {
    if (!s->regular) co_return co_await read_nonblocking(s, max);
    co_return co_await to_thread::run_sync(&read_chunk, s, max);
}

task<std::string> read_all_of(std::shared_ptr<file_state> s) {
    if (s->regular) {
        co_await to_thread::run_sync(&read_rest, s);
    } else {
        for (;;) {
            std::string more = co_await read_nonblocking(s, read_block);
            if (more.empty()) break;
            append(*s, more);
        }
    }
    co_return take(*s, buffered(*s));
}

}  // namespace

task<std::string> file_read(std::shared_ptr<file_state> state, std::size_t max) {
    file_operation op(std::move(state), "read", true, false);
    if (max == async_file::npos) co_return co_await read_all_of(op.shared());
    if (max == 0) {
        co_await checkpoint();
        co_return std::string();
    }
    if (buffered(*op) > 0) {
        co_await checkpoint();
        co_return take(*op, std::min(max, buffered(*op)));
    }
    co_return co_await read_raw(op.shared(), max);
}

task<std::string> file_readline(std::shared_ptr<file_state> state, std::size_t max) {
    file_operation op(std::move(state), "readline", true, false);
    file_state& s = *op;
    std::size_t scanned = 0;  // read-ahead bytes already searched for '\n'
    bool waited = false;
    for (;;) {
        const std::size_t have = buffered(s);
        const std::size_t newline = s.read_ahead.find('\n', s.read_pos + scanned);
        std::size_t length = 0;
        if (newline != std::string::npos) {
            length = newline - s.read_pos + 1;
        } else if (have >= max) {
            length = max;
        }
        if (length > 0) {
            if (!waited) co_await checkpoint();
            co_return take(s, std::min(length, max));
        }
        scanned = have;
        std::string more = co_await read_raw(op.shared(), read_block);
        waited = true;
        if (more.empty()) co_return take(s, have);  // the last line, without '\n' ("" at EOF)
        append(s, more);
    }
}

task<std::size_t> file_write(std::shared_ptr<file_state> state, std::string data) {
    file_operation op(std::move(state), "write", false, true);
    const std::size_t size = data.size();
    if (op->regular) {
        co_await to_thread::run_sync(&write_all, op.shared(), std::move(data));
        co_return size;
    }
    throw_if_cancelled("writing a file");
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::write(op->fd, data.data() + done, size - done);
        if (n >= 0) {
            done += static_cast<std::size_t>(n);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            co_await wait_writable(op->fd);
            if (op->closed) throw closed_resource_error("anyio: the file was closed while writing");
        } else if (errno != EINTR) {
            throw_fs_error("write", op->name);
        }
    }
    co_await cancel_shielded_yield{};
    co_return size;
}

task<std::int64_t> file_seek(std::shared_ptr<file_state> state, std::int64_t offset,
                             seek_from from) {
    file_operation op(std::move(state), "seek", false, false);
    co_await checkpoint();
    int whence = SEEK_SET;
    if (from == seek_from::current) {
        whence = SEEK_CUR;
        offset -= static_cast<std::int64_t>(buffered(*op));
    } else if (from == seek_from::end) {
        whence = SEEK_END;
    }
    const off_t position = ::lseek(op->fd, static_cast<off_t>(offset), whence);
    if (position < 0) throw_fs_error("seek", op->name);
    op->read_ahead.clear();
    op->read_pos = 0;
    co_return static_cast<std::int64_t>(position);
}

task<std::int64_t> file_tell(std::shared_ptr<file_state> state) {
    file_operation op(std::move(state), "tell", false, false);
    co_await checkpoint();
    const off_t position = ::lseek(op->fd, 0, SEEK_CUR);
    if (position < 0) throw_fs_error("tell", op->name);
    co_return static_cast<std::int64_t>(position) - static_cast<std::int64_t>(buffered(*op));
}

task<void> file_flush(std::shared_ptr<file_state> state) {
    file_operation op(std::move(state), "flush", false, false);
    co_await checkpoint();
}

task<void> file_sync(std::shared_ptr<file_state> state) {
    file_operation op(std::move(state), "fsync", false, false);
    co_await to_thread::run_sync(&sync_file, op.shared());
}

task<void> file_close(std::shared_ptr<file_state> state) {
    if (!state || state->closed) {
        co_await checkpoint();
        co_return;
    }
    state->closed = true;
    if (state->busy) {
        // The running operation closes the descriptor when it ends; wake it if it waits on
        // epoll (the worker's system call cannot be interrupted, so that one finishes).
        if (!state->regular) notify_closing(state->fd);
        co_return;
    }
    unique_fd fd(std::exchange(state->fd, -1));
    std::filesystem::path name = state->name;
    // Cancelled before the worker runs, the unique_fd is dropped: closed all the same.
    co_await to_thread::run_sync(&close_file, std::move(fd), std::move(name));
}

task<std::optional<std::string>> file_next_line(std::shared_ptr<file_state> state) {
    std::string line = co_await file_readline(std::move(state), async_file::npos);
    if (line.empty()) co_return std::nullopt;
    co_return line;
}

struct file_access {
    static async_file make(std::shared_ptr<file_state> state) noexcept {
        return async_file(std::move(state));
    }
};

task<async_file> open_with(std::filesystem::path file, open_mode mode) {
    to_thread::run_sync_options options;
    options.abandon_on_cancel = true;  // a FIFO's open(2) may wait for ever: see file.hpp
    opened result = co_await to_thread::run_sync(options, &open_in_worker, file, mode.flags);
    co_return file_access::make(std::make_shared<file_state>(
        result.fd.release(), std::move(file), mode.readable, mode.writable, result.regular));
}

}  // namespace anyio::detail

namespace anyio {

async_file::async_file() noexcept = default;
async_file::async_file(std::shared_ptr<detail::file_state> state) noexcept
    : state_(std::move(state)) {}
async_file::async_file(async_file&& other) noexcept = default;
async_file& async_file::operator=(async_file&& other) noexcept {
    if (this != &other) {
        close_now();
        state_ = std::move(other.state_);
    }
    return *this;
}
async_file::~async_file() {
    close_now();
}

void async_file::close_now() noexcept {
    if (!state_) return;
    if (!state_->closed) {
        state_->closed = true;
        if (!state_->busy) {
            if (state_->fd >= 0) ::close(std::exchange(state_->fd, -1));
        } else if (!state_->regular) {
            notify_closing(state_->fd);
        }
    }
    state_.reset();
}

task<std::string> async_file::read(std::size_t max) {
    return detail::file_read(state_, max);
}
task<std::string> async_file::read_all() {
    return detail::file_read(state_, npos);
}
task<std::string> async_file::readline(std::size_t max) {
    if (max == 0) throw std::invalid_argument("anyio::async_file::readline: max must be > 0");
    return detail::file_readline(state_, max);
}
task<std::optional<std::string>> async_file::next_line() {
    return detail::file_next_line(state_);
}
task<std::size_t> async_file::write(std::string_view data) {
    return detail::file_write(state_, std::string(data));
}
task<std::int64_t> async_file::seek(std::int64_t offset, seek_from from) {
    return detail::file_seek(state_, offset, from);
}
task<std::int64_t> async_file::tell() {
    return detail::file_tell(state_);
}
task<void> async_file::flush() {
    return detail::file_flush(state_);
}
task<void> async_file::sync() {
    return detail::file_sync(state_);
}
task<void> async_file::aclose() {
    return detail::file_close(state_);
}

bool async_file::closed() const noexcept {
    return !state_ || state_->closed;
}
const std::filesystem::path& async_file::name() const {
    if (!state_) throw closed_resource_error("anyio: the file is closed");
    return state_->name;
}
int async_file::fileno() const noexcept {
    return closed() ? -1 : state_->fd;
}

task<async_file> open_file(std::filesystem::path file, std::string_view mode) {
    // Parsed now, so a bad mode throws at the call and `mode` need not outlive it.
    return detail::open_with(std::move(file), detail::parse_open_mode(mode));
}

}  // namespace anyio
