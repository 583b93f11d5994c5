// anyio::path: each operation is one blocking function run by to_thread::run_sync.

#include <anyio/path.hpp>
#include <anyio/to_thread.hpp>

#include "fs/fs_error.hpp"
#include "io/unique_fd.hpp"

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace anyio {
namespace {

namespace fs = std::filesystem;

// false: nothing there (ENOENT, or a non-directory in the way); other errors throw.
bool stat_or_missing(const fs::path& p, struct stat& st) {
    if (::stat(p.c_str(), &st) == 0) return true;
    if (errno == ENOENT || errno == ENOTDIR) return false;
    detail::throw_fs_error("stat", p);
}

bool exists_in_worker(fs::path p) {
    struct stat st {};
    return stat_or_missing(p, st);
}

bool is_file_in_worker(fs::path p) {
    struct stat st {};
    return stat_or_missing(p, st) && S_ISREG(st.st_mode);
}

bool is_dir_in_worker(fs::path p) {
    struct stat st {};
    return stat_or_missing(p, st) && S_ISDIR(st.st_mode);
}

fs::file_type type_of(mode_t mode) {
    if (S_ISREG(mode)) return fs::file_type::regular;
    if (S_ISDIR(mode)) return fs::file_type::directory;
    if (S_ISLNK(mode)) return fs::file_type::symlink;
    if (S_ISBLK(mode)) return fs::file_type::block;
    if (S_ISCHR(mode)) return fs::file_type::character;
    if (S_ISFIFO(mode)) return fs::file_type::fifo;
    if (S_ISSOCK(mode)) return fs::file_type::socket;
    return fs::file_type::unknown;
}

file_stat stat_in_worker(fs::path p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) detail::throw_fs_error("stat", p);
    file_stat result;
    result.type = type_of(st.st_mode);
    result.permissions = static_cast<fs::perms>(st.st_mode & 07777);
    result.size = static_cast<std::uintmax_t>(st.st_size);
    result.modified = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(st.st_mtim.tv_sec) +
            std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
    result.inode = static_cast<std::uintmax_t>(st.st_ino);
    result.links = static_cast<std::uintmax_t>(st.st_nlink);
    return result;
}

std::string read_in_worker(fs::path p) {
    int raw;
    do {
        raw = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    } while (raw < 0 && errno == EINTR);
    if (raw < 0) detail::throw_fs_error("read", p);
    const detail::unique_fd fd(raw);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) detail::throw_fs_error("read", p);
    if (S_ISDIR(st.st_mode)) detail::throw_fs_error("read", p, EISDIR);
    std::string out;
    // Sized by fstat (+1 to see the end at once); files that report 0 (/proc) grow by blocks.
    std::size_t block = st.st_size > 0 ? static_cast<std::size_t>(st.st_size) + 1 : 65536;
    for (;;) {
        const std::size_t old = out.size();
        out.resize(old + block);
        const ssize_t n = ::read(fd.get(), out.data() + old, block);
        if (n < 0) {
            out.resize(old);
            if (errno == EINTR) continue;
            detail::throw_fs_error("read", p);
        }
        out.resize(old + static_cast<std::size_t>(n));
        if (n == 0) return out;
        block = 65536;
    }
}

std::size_t write_in_worker(fs::path p, std::string data) {
    int raw;
    do {
        raw = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    } while (raw < 0 && errno == EINTR);
    if (raw < 0) detail::throw_fs_error("write", p);
    detail::unique_fd fd(raw);
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            detail::throw_fs_error("write", p);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::close(fd.release()) != 0 && errno != EINTR) detail::throw_fs_error("write", p);
    return data.size();
}

std::vector<path> iterdir_in_worker(fs::path p) {
    std::vector<path> entries;
    DIR* dir = ::opendir(p.c_str());  // O_CLOEXEC, as glibc opens it
    if (dir == nullptr) detail::throw_fs_error("iterdir", p);
    struct closer {
        DIR* d;
        ~closer() { ::closedir(d); }
    } close_dir{dir};
    for (;;) {
        errno = 0;
        const dirent* entry = ::readdir(dir);
        if (entry == nullptr) {
            if (errno != 0) detail::throw_fs_error("iterdir", p);
            return entries;
        }
        const std::string_view name(entry->d_name);
        if (name == "." || name == "..") continue;
        entries.emplace_back(p / name);
    }
}

void mkdir_in_worker(fs::path p, bool parents, bool exist_ok) {
    if (::mkdir(p.c_str(), 0777) == 0) return;
    const int error = errno;
    if (error == ENOENT && parents && p.has_parent_path() && p.parent_path() != p) {
        mkdir_in_worker(p.parent_path(), true, true);
        mkdir_in_worker(std::move(p), false, exist_ok);
        return;
    }
    if (error == EEXIST && exist_ok) {
        struct stat st {};
        if (::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return;
    }
    detail::throw_fs_error("mkdir", p, error);
}

void unlink_in_worker(fs::path p, bool missing_ok) {
    if (::unlink(p.c_str()) == 0) return;
    if (errno == ENOENT && missing_ok) return;
    detail::throw_fs_error("unlink", p);
}

void rmdir_in_worker(fs::path p) {
    if (::rmdir(p.c_str()) != 0) detail::throw_fs_error("rmdir", p);
}

void rename_in_worker(fs::path from, fs::path to) {
    if (::rename(from.c_str(), to.c_str()) != 0) detail::throw_fs_error("rename", from, to);
}

task<std::size_t> write_file(fs::path p, std::string data) {
    co_return co_await to_thread::run_sync(&write_in_worker, p, std::move(data));
}

task<path> rename_to(fs::path from, path target) {
    const fs::path& to = target.native();
    co_await to_thread::run_sync(&rename_in_worker, from, to);
    co_return target;
}

}  // namespace

task<bool> path::exists() const {
    return to_thread::run_sync(&exists_in_worker, path_);
}
task<bool> path::is_file() const {
    return to_thread::run_sync(&is_file_in_worker, path_);
}
task<bool> path::is_dir() const {
    return to_thread::run_sync(&is_dir_in_worker, path_);
}
task<file_stat> path::stat() const {
    return to_thread::run_sync(&stat_in_worker, path_);
}
task<std::string> path::read_bytes() const {
    return to_thread::run_sync(&read_in_worker, path_);
}
task<std::string> path::read_text() const {
    return to_thread::run_sync(&read_in_worker, path_);
}
task<std::size_t> path::write_bytes(std::string_view data) const {
    return write_file(path_, std::string(data));
}
task<std::size_t> path::write_text(std::string_view data) const {
    return write_file(path_, std::string(data));
}
task<std::vector<path>> path::iterdir() const {
    return to_thread::run_sync(&iterdir_in_worker, path_);
}
task<void> path::mkdir(bool parents, bool exist_ok) const {
    return to_thread::run_sync(&mkdir_in_worker, path_, parents, exist_ok);
}
task<void> path::unlink(bool missing_ok) const {
    return to_thread::run_sync(&unlink_in_worker, path_, missing_ok);
}
task<void> path::rmdir() const {
    return to_thread::run_sync(&rmdir_in_worker, path_);
}
task<path> path::rename(path target) const {
    return rename_to(path_, std::move(target));
}
task<async_file> path::open(std::string_view mode) const {
    return open_file(path_, mode);
}

}  // namespace anyio
