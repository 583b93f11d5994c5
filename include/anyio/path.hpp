#pragma once
// anyio::path: a std::filesystem::path whose file-system operations run in worker threads
// (AnyIO's anyio.Path, itself pathlib.Path's asynchronous twin).
//
//     anyio::path dir = anyio::path(root) / "logs";
//     co_await dir.mkdir(true, true);                    // parents, exist_ok
//     co_await (dir / "today.txt").write_text("started\n");
//     for (const anyio::path& entry : co_await dir.iterdir()) ...
//
// Each operation awaits to_thread::run_sync (the loop's default thread limiter) and so is
// a checkpoint; cancelled before its worker starts, nothing happened; once the worker runs,
// the operation completes (to_thread's rule) and the task's next checkpoint throws
// `cancelled`. A failure throws std::filesystem::filesystem_error: what() names the
// operation, the cause and the path(s), code() is the errno. Paths are plain values: use
// them from any thread; the awaitables, from a loop thread only. Bytes and text are both a
// std::string (no decoding on Linux, as Python's default UTF-8 mode reads them byte for byte).

#include <anyio/file.hpp>
#include <anyio/task.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace anyio {

// What stat() reports (following symbolic links, as pathlib's stat()).
struct file_stat {
    std::filesystem::file_type type = std::filesystem::file_type::none;
    std::filesystem::perms permissions = std::filesystem::perms::none;
    std::uintmax_t size = 0;                           // bytes
    std::chrono::system_clock::time_point modified{};  // st_mtim, to the nanosecond
    std::uintmax_t inode = 0;
    std::uintmax_t links = 0;
};

class path {
public:
    path() = default;
    path(std::filesystem::path p) : path_(std::move(p)) {}  // NOLINT: implicit, like pathlib
    path(const char* p) : path_(p) {}                       // NOLINT
    path(const std::string& p) : path_(p) {}                // NOLINT
    path(std::string_view p) : path_(p) {}                  // NOLINT

    // The plain path (std::filesystem's name for it).
    [[nodiscard]] const std::filesystem::path& native() const noexcept { return path_; }
    operator const std::filesystem::path&() const noexcept { return path_; }  // NOLINT
    [[nodiscard]] std::string string() const { return path_.string(); }
    [[nodiscard]] std::string name() const { return path_.filename().string(); }
    [[nodiscard]] path parent() const { return path(path_.parent_path()); }
    [[nodiscard]] std::string suffix() const { return path_.extension().string(); }
    friend path operator/(const path& dir, const path& child) { return dir.path_ / child.path_; }
    friend bool operator==(const path& a, const path& b) noexcept = default;

    // Whether the path names something (following links); false when it does not, an error
    // for anything else (EACCES on a parent...).
    [[nodiscard]] task<bool> exists() const;
    [[nodiscard]] task<bool> is_file() const;  // a regular file (following links)
    [[nodiscard]] task<bool> is_dir() const;
    [[nodiscard]] task<file_stat> stat() const;

    [[nodiscard]] task<std::string> read_bytes() const;
    [[nodiscard]] task<std::string> read_text() const;
    // Creates or truncates the file, writes `data` (copied first) and returns its size.
    [[nodiscard]] task<std::size_t> write_bytes(std::string_view data) const;
    [[nodiscard]] task<std::size_t> write_text(std::string_view data) const;

    // The entries of the directory (not "." and ".."), each as this path / its name, in the
    // order the directory lists them (unspecified, as pathlib's iterdir). Read whole in one
    // worker trip: a snapshot, not a live iteration.
    [[nodiscard]] task<std::vector<path>> iterdir() const;
    // parents: create missing parents too; exist_ok: an existing directory is no error
    // (anything else in the way still is).
    [[nodiscard]] task<void> mkdir(bool parents = false, bool exist_ok = false) const;
    // unlink(2): files and links, not directories. missing_ok: no error if nothing is there.
    [[nodiscard]] task<void> unlink(bool missing_ok = false) const;
    [[nodiscard]] task<void> rmdir() const;  // an empty directory
    // rename(2), replacing `target` if it exists (as pathlib's rename on POSIX). Returns it.
    [[nodiscard]] task<path> rename(path target) const;
    // open_file(*this, mode).
    [[nodiscard]] task<async_file> open(std::string_view mode = "r") const;

private:
    std::filesystem::path path_;
};

}  // namespace anyio
