#pragma once
// Files read and written on worker threads, so a slow disk never stalls the event loop
// (AnyIO's open_file and AsyncFile).
//
//     anyio::async_file f = co_await anyio::open_file("app.log", "r");
//     while (std::optional<std::string> line = co_await f.next_line()) use(*line);
//
// Every operation on a regular file runs its system call in a worker thread through
// to_thread::run_sync (the loop's default thread limiter), as AnyIO does. A descriptor
// that is not a regular file (a FIFO, a socket, a terminal) is made non-blocking instead:
// its reads and writes are tried on the loop thread, where they cannot block, and wait on
// the loop's epoll when nothing is ready, so they are cancelled at once.
//
// End of file: read() and readline() return an empty string, as in AnyIO (a file is not a
// byte stream; abc::byte_receive_stream's end_of_stream convention does not apply).
// next_line() returns std::nullopt instead, for loops. Text and binary modes are the same
// on Linux: bytes in a std::string, no newline translation, no decoding.
//
// Cancellation, for every operation: cancelled before its worker starts, nothing happened.
// Once the worker runs, the call completes (to_thread's rule: the worker is never
// abandoned) and returns its result; the task's next checkpoint throws `cancelled`. So a
// cancelled read never loses bytes: they are returned, or kept for the next read when the
// call needed more worker trips (read_all, readline). A cancelled write has written its
// bytes, or (on a pipe or socket, between two partial writes) a prefix of them.
//
// One operation at a time per file: a second task using it concurrently gets
// busy_resource_error. Loop thread only; move-only. Destroying an open async_file closes
// its descriptor on the spot (close(2) on the loop thread: no write-back is pending, since
// writes are not buffered here), or, while an operation is still running in a worker,
// once it returns; it never waits.

#include <anyio/task.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace anyio {

namespace detail {
struct file_state;
struct file_access;
}  // namespace detail

// seek's origin, as lseek's SEEK_SET, SEEK_CUR and SEEK_END (Python's whence 0, 1, 2).
enum class seek_from { start, current, end };

class async_file {
public:
    static constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();

    async_file() noexcept;  // not a file: every operation throws closed_resource_error
    async_file(async_file&&) noexcept;
    async_file& operator=(async_file&&) noexcept;  // closes the file it held (as the destructor)
    async_file(const async_file&) = delete;
    async_file& operator=(const async_file&) = delete;
    ~async_file();

    // Up to `max` bytes (at least one unless at end of file, where it returns ""): what one
    // read(2) gives, like os.read (of at most 16 MiB), or bytes already read ahead by
    // readline. npos: to the end of the file (read_all).
    [[nodiscard]] task<std::string> read(std::size_t max = npos);
    // Everything from the current position to the end of the file.
    [[nodiscard]] task<std::string> read_all();
    // The next line with its '\n' (the last one may have none); "" at end of file. With
    // `max`, at most that many bytes: a longer line comes in pieces, as Python's
    // readline(size). Reads ahead in 64 KiB blocks; read, seek, tell and write account for it.
    [[nodiscard]] task<std::string> readline(std::size_t max = npos);
    // readline for loops: std::nullopt at end of file.
    [[nodiscard]] task<std::optional<std::string>> next_line();
    // Writes all of `data` (not buffered: flush has nothing to do) and returns its size.
    // The bytes are copied first: `data` need not outlive the call.
    [[nodiscard]] task<std::size_t> write(std::string_view data);
    // Moves the position and returns the new one (from the start of the file). seek and
    // tell call lseek(2) on the loop thread, after a checkpoint: it never waits for a disk.
    [[nodiscard]] task<std::int64_t> seek(std::int64_t offset, seek_from from = seek_from::start);
    [[nodiscard]] task<std::int64_t> tell();
    // A checkpoint and nothing more: writes go to the kernel at once. Durability is fsync's
    // business (sync()).
    [[nodiscard]] task<void> flush();
    // fsync(2) in a worker: the data is on the disk when it returns.
    [[nodiscard]] task<void> sync();
    // Closes the file in a worker thread (close(2) may report a write error, which is
    // thrown). Idempotent. While another task's operation runs, the file is marked closed
    // at once and the descriptor is closed when that operation returns.
    [[nodiscard]] task<void> aclose();

    [[nodiscard]] bool closed() const noexcept;
    // The path it was opened with.
    [[nodiscard]] const std::filesystem::path& name() const;
    // The descriptor (-1 once closed). Still the file's: do not close it.
    [[nodiscard]] int fileno() const noexcept;

private:
    friend struct detail::file_access;
    explicit async_file(std::shared_ptr<detail::file_state> state) noexcept;
    void close_now() noexcept;

    std::shared_ptr<detail::file_state> state_;
};

// Opens `file` in a worker thread. `mode` as Python's open() (and fopen): one of r, w, a, x,
// then optionally +, and b or t, in any order: "r" read, "w" truncate or create, "a"
// append or create, "x" create, failing if it exists; "+" adds the other direction.
// An invalid mode throws std::invalid_argument (before any system call); a failure to open
// std::filesystem::filesystem_error naming the path and the cause. The descriptor is
// close-on-exec. Opening a FIFO waits for its other end, as open(2) does; cancellation does
// not wait for that: open_file throws `cancelled` at once, and the open(2) still running in
// its worker closes the descriptor it gets, if it ever gets one (to_thread's
// abandon_on_cancel). Either way no descriptor is left open.
[[nodiscard]] task<async_file> open_file(std::filesystem::path file, std::string_view mode = "r");

}  // namespace anyio
