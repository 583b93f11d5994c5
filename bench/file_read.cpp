// Reading a large file through anyio::async_file (each read on a worker thread) against a
// plain blocking read(2) loop, for 64 KiB and 1 MiB chunks, and read_all against a blocking
// read of the whole file into one string (issue 13).
//
//     build/release/bench/file_read [MiB=256] [runs=7] [dir=$TMPDIR or /tmp]
//
// Writes the file once, then times each way `runs` times, alternating, from the page cache
// (the first untimed pass warms it): what is measured is anyio's overhead per chunk, not
// the disk. Prints the median of each and its ratio to the blocking loop.

#include <anyio/anyio.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace {

using bench_clock = std::chrono::steady_clock;

std::size_t blocking_read(const std::string& file, std::size_t chunk) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("open");
    std::vector<char> buffer(chunk);
    std::size_t total = 0;
    for (;;) {
        const ssize_t n = ::read(fd, buffer.data(), chunk);
        if (n < 0) throw std::runtime_error("read");
        if (n == 0) break;
        total += static_cast<std::size_t>(n);
    }
    ::close(fd);
    return total;
}

// The blocking counterpart of read_all: the whole file into one string sized by fstat.
std::size_t blocking_read_whole(const std::string& file) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("open");
    const auto size = static_cast<std::size_t>(::lseek(fd, 0, SEEK_END));
    ::lseek(fd, 0, SEEK_SET);
    std::string all(size + 1, '\0');
    std::size_t filled = 0;
    for (;;) {
        const ssize_t n = ::read(fd, all.data() + filled, all.size() - filled);
        if (n < 0) throw std::runtime_error("read");
        if (n == 0) break;
        filled += static_cast<std::size_t>(n);
    }
    all.resize(filled);
    ::close(fd);
    return all.size();
}

std::size_t async_read(const std::string& file, std::size_t chunk) {
    std::size_t total = 0;
    const auto body = [&]() -> anyio::task<> {
        anyio::async_file f = co_await anyio::open_file(file, "rb");
        for (;;) {
            const std::string data = co_await f.read(chunk);
            if (data.empty()) break;
            total += data.size();
        }
        co_await f.aclose();
    };
    anyio::run(body);
    return total;
}

std::size_t async_read_all(const std::string& file) {
    std::size_t total = 0;
    const auto body = [&]() -> anyio::task<> {
        anyio::async_file f = co_await anyio::open_file(file, "rb");
        const std::string data = co_await f.read_all();
        total = data.size();
        co_await f.aclose();
    };
    anyio::run(body);
    return total;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 256;
    const int runs = argc > 2 ? std::atoi(argv[2]) : 7;
    const std::filesystem::path dir =
        argc > 3 ? std::filesystem::path(argv[3]) : std::filesystem::temp_directory_path();
    const std::string file = (dir / ("anyio-file-read-" + std::to_string(::getpid()))).string();
    {
        const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) throw std::runtime_error("create " + file);
        std::string block(1024 * 1024, '\0');
        for (std::size_t i = 0; i < block.size(); ++i)
            block[i] = static_cast<char>(i * 31);
        for (std::size_t i = 0; i < mib; ++i) {
            if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()))
                throw std::runtime_error("write");
        }
        ::close(fd);
    }
    const std::size_t expected = mib * 1024 * 1024;

    struct way {
        std::string name;
        std::function<std::size_t()> run;
    };
    const std::vector<way> ways = {
        {"blocking read 64 KiB", [&] { return blocking_read(file, 64 * 1024); }},
        {"async_file read 64 KiB", [&] { return async_read(file, 64 * 1024); }},
        {"blocking read 1 MiB", [&] { return blocking_read(file, 1024 * 1024); }},
        {"async_file read 1 MiB", [&] { return async_read(file, 1024 * 1024); }},
        {"blocking whole file", [&] { return blocking_read_whole(file); }},
        {"async_file read_all", [&] { return async_read_all(file); }},
    };
    std::map<std::string, std::vector<double>> times;
    for (int run = -1; run < runs; ++run) {  // run -1: warm-up, not timed
        for (const way& w : ways) {
            const auto start = bench_clock::now();
            const std::size_t got = w.run();
            const double seconds =
                std::chrono::duration<double>(bench_clock::now() - start).count();
            if (got != expected) throw std::runtime_error(w.name + ": short read");
            if (run >= 0) times[w.name].push_back(seconds);
        }
    }
    std::filesystem::remove(file);

    std::printf("file: %zu MiB from the page cache, %d runs, medians\n", mib, runs);
    const double base64 = median(times["blocking read 64 KiB"]);
    const double base1m = median(times["blocking read 1 MiB"]);
    const double base_whole = median(times["blocking whole file"]);
    for (const way& w : ways) {
        const double m = median(times[w.name]);
        const bool whole = w.name.find("whole") != std::string::npos ||
                           w.name.find("read_all") != std::string::npos;
        const double base = whole                                        ? base_whole
                            : w.name.find("64 KiB") != std::string::npos ? base64
                                                                         : base1m;
        std::printf("%-24s %8.1f ms  %7.0f MiB/s  %5.2fx its blocking counterpart\n",
                    w.name.c_str(), m * 1e3, static_cast<double>(mib) / m, m / base);
    }
}
