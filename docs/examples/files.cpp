// Files, paths and descriptor waits (docs/api/files.md): a small log tailer's pieces.

#include <anyio/anyio.hpp>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include <unistd.h>

anyio::task<> write_log(const anyio::path& log) {
    anyio::async_file out = co_await anyio::open_file(log, "w");
    co_await out.write("INFO started\n");
    co_await out.write("ERROR disk almost full\n");
    co_await out.write("INFO still running");  // no newline at the end
    co_await out.aclose();
}

anyio::task<> count_errors(const anyio::path& log) {
    anyio::async_file in = co_await log.open("r");
    int lines = 0;
    int errors = 0;
    while (std::optional<std::string> line = co_await in.next_line()) {
        ++lines;
        if (line->starts_with("ERROR")) ++errors;
    }
    std::printf("%d lines, %d errors\n", lines, errors);
}

anyio::task<> use_paths(const anyio::path& root) {
    const anyio::path archive = root / "archive" / "2026";
    co_await archive.mkdir(true, true);  // parents, exist_ok
    const anyio::path moved = co_await (root / "app.log").rename(archive / "app.log");
    const anyio::file_stat st = co_await moved.stat();
    std::printf("archived %s: %ju bytes\n", moved.name().c_str(), st.size);
    for (const anyio::path& entry : co_await archive.iterdir())
        std::printf("in the archive: %s\n", entry.name().c_str());
    try {
        (void)co_await (root / "app.log").read_text();
    } catch (const std::filesystem::filesystem_error& e) {
        std::printf("gone: %s\n", e.code().message().c_str());
    }
    co_await moved.unlink();
    co_await archive.rmdir();
    co_await archive.parent().rmdir();
}

anyio::task<> wait_for_a_pipe() {
    int fds[2];
    if (::pipe(fds) != 0) co_return;
    co_await anyio::wait_writable(fds[1]);  // an empty pipe has room
    (void)::write(fds[1], "!", 1);
    co_await anyio::wait_readable(fds[0]);  // the byte is there: read() will not block
    char c = 0;
    (void)::read(fds[0], &c, 1);
    std::printf("the pipe said %c\n", c);
    ::close(fds[0]);  // the descriptors stay ours to close
    ::close(fds[1]);
}

anyio::task<> main_task() {
    char pattern[] = "/tmp/anyio-files-XXXXXX";
    const anyio::path root(::mkdtemp(pattern));
    co_await write_log(root / "app.log");
    co_await count_errors(root / "app.log");
    co_await use_paths(root);
    co_await root.rmdir();
    co_await wait_for_a_pipe();
}

int main() {
    anyio::run(main_task);
}
