// Reading lines from a socket: anyio's buffered stream against a hand-written receive_into
// loop and, when Boost's headers are there, Boost.Asio's async_read_until.
//
//   build/release/bench/line_reading [--lines N] [--line-bytes B] [--runs R]
//
// Each run: a fresh AF_UNIX socketpair; a plain thread writes N lines of B bytes (newline
// included) in 64 KiB writes, then closes its end; the reader, on one event loop in the
// main thread, reads every line until the end of the stream and checks the count and the
// total length. Variants, interleaved run by run:
//   buffered     anyio::buffered_byte_receive_stream::receive_until("\n", 65536): a
//                std::string per line
//   receive_into anyio::byte_stream::receive_into into a 64 KiB buffer, memchr for '\n',
//                the line as a std::string_view into the buffer (a partial line is carried
//                over in a std::string): what one writes by hand to go fast
//   asio         boost::asio::async_read_until(socket, dynamic_buffer(std::string), '\n')
//                on an io_context, the line as a std::string_view, then consume()
// Prints each variant's median lines per second and MiB/s, and the ratios.

#include <anyio/anyio.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

#ifdef ANYIO_BENCH_HAVE_ASIO
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#endif

namespace {

using steady = std::chrono::steady_clock;

struct settings {
    std::size_t lines = 1'000'000;
    std::size_t line_bytes = 64;
    int runs = 5;
};

struct result {
    std::size_t lines = 0;
    std::size_t bytes = 0;  // without the newlines
};

std::string make_input(const settings& s) {
    std::string line(s.line_bytes - 1, 'x');
    line += '\n';
    std::string all;
    all.reserve(s.lines * s.line_bytes);
    for (std::size_t i = 0; i < s.lines; ++i) {
        std::memcpy(line.data(), &i, std::min(sizeof i, line.size() - 1));  // lines differ
        for (std::size_t j = 0; j < std::min(sizeof i, line.size() - 1); ++j)
            if (line[j] == '\n') line[j] = 'n';
        all += line;
    }
    return all;
}

void write_all_then_close(int fd, const std::string& input) {
    std::size_t off = 0;
    while (off < input.size()) {
        const ssize_t n =
            ::write(fd, input.data() + off, std::min<std::size_t>(65536, input.size() - off));
        if (n <= 0) break;
        off += static_cast<std::size_t>(n);
    }
    ::close(fd);
}

anyio::task<> read_buffered(int fd, result* out) {
    anyio::buffered_byte_receive_stream in(anyio::byte_stream::adopt(fd));
    for (;;) {
        std::string line;
        try {
            line = co_await in.receive_until("\n", 65536);
        } catch (const anyio::end_of_stream&) {
            break;
        }
        ++out->lines;
        out->bytes += line.size();
    }
}

anyio::task<> read_by_hand(int fd, result* out) {
    anyio::byte_stream in = anyio::byte_stream::adopt(fd);
    std::vector<char> buffer(65536);
    std::string partial;
    for (;;) {
        std::size_t n = 0;
        try {
            n = co_await in.receive_into(buffer);
        } catch (const anyio::end_of_stream&) {
            break;
        }
        const char* at = buffer.data();
        const char* const end = at + n;
        while (at < end) {
            const auto* newline =
                static_cast<const char*>(std::memchr(at, '\n', static_cast<std::size_t>(end - at)));
            if (newline == nullptr) {
                partial.append(at, end);
                break;
            }
            std::string_view line(at, static_cast<std::size_t>(newline - at));
            if (!partial.empty()) {
                partial.append(line);
                line = partial;
            }
            ++out->lines;
            out->bytes += line.size();
            partial.clear();
            at = newline + 1;
        }
    }
}

#ifdef ANYIO_BENCH_HAVE_ASIO
class asio_reader {
public:
    asio_reader(boost::asio::io_context& io, int fd, result* out)
        : socket_(io, boost::asio::local::stream_protocol(), fd), out_(out) {}
    void start() {
        boost::asio::async_read_until(
            socket_, boost::asio::dynamic_buffer(buffer_), '\n',
            [this](const boost::system::error_code& error, std::size_t n) {
                if (error) return;  // eof
                const std::string_view line(buffer_.data(), n - 1);
                ++out_->lines;
                out_->bytes += line.size();
                buffer_.erase(0, n);
                start();
            });
    }

private:
    boost::asio::local::stream_protocol::socket socket_;
    std::string buffer_;
    result* out_;
};
#endif

// Seconds for one run of `read` over a fresh socketpair.
double run_once(const std::string& variant, const std::string& input, const settings& s) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        throw std::runtime_error("socketpair");
    result got;
    const auto start = steady::now();
    std::thread writer(write_all_then_close, fds[0], std::cref(input));
    if (variant == "buffered") {
        anyio::run(read_buffered, fds[1], &got);
    } else if (variant == "receive_into") {
        anyio::run(read_by_hand, fds[1], &got);
    } else {
#ifdef ANYIO_BENCH_HAVE_ASIO
        boost::asio::io_context io(1);
        asio_reader reader(io, fds[1], &got);
        reader.start();
        io.run();
#endif
    }
    writer.join();
    const double seconds = std::chrono::duration<double>(steady::now() - start).count();
    if (got.lines != s.lines || got.bytes != s.lines * (s.line_bytes - 1)) {
        std::fprintf(stderr, "%s: got %zu lines, %zu bytes\n", variant.c_str(), got.lines,
                     got.bytes);
        std::exit(1);
    }
    return seconds;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
    settings s;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const long value = std::strtol(argv[i + 1], nullptr, 10);
        if (value <= 0) {
            std::fprintf(stderr, "%s wants a positive number\n", flag.c_str());
            return 2;
        }
        if (flag == "--lines") {
            s.lines = static_cast<std::size_t>(value);
        } else if (flag == "--line-bytes" && value >= 2) {
            s.line_bytes = static_cast<std::size_t>(value);
        } else if (flag == "--runs") {
            s.runs = static_cast<int>(value);
        } else {
            std::fprintf(stderr,
                         "usage: line_reading [--lines N] [--line-bytes B>=2] [--runs R]\n");
            return 2;
        }
    }
    std::vector<std::string> variants = {"buffered", "receive_into"};
#ifdef ANYIO_BENCH_HAVE_ASIO
    variants.emplace_back("asio");
#endif
    const std::string input = make_input(s);
    std::map<std::string, std::vector<double>> seconds;
    for (int run = 0; run < s.runs; ++run)
        for (const std::string& variant : variants)
            seconds[variant].push_back(run_once(variant, input, s));

    std::printf("%zu lines of %zu bytes over an AF_UNIX socketpair, median of %d runs\n", s.lines,
                s.line_bytes, s.runs);
    std::printf("%-14s %12s %14s %10s %10s\n", "variant", "median s", "lines/s", "MiB/s",
                "vs buffered");
    const double reference = median(seconds["buffered"]);
    for (const std::string& variant : variants) {
        const double m = median(seconds[variant]);
        std::printf("%-14s %12.4f %14.0f %10.1f %10.2f\n", variant.c_str(), m,
                    static_cast<double>(s.lines) / m,
                    static_cast<double>(input.size()) / m / (1 << 20), reference / m);
    }
    std::printf(
        "(vs buffered: the buffered stream's median time / this one's; above 1 is faster than "
        "buffered)\n");
    return 0;
}
