// Echo throughput of an anyio TCP server against a same-machine client.
//
//   build/release/bench/echo_throughput [--bulk-mib N] [--round-trips N] [--connections N]
//                                       [--server anyio|threads]
//
// The server runs on an anyio loop in the main thread (listener.serve with a
// receive_into/send echo handler), or, as the reference, a plain blocking server with a
// thread per connection (--server threads). The client is plain blocking sockets in other
// threads either way. Three measurements over 127.0.0.1:
//   bulk          one connection; a writer thread streams N MiB in 64 KiB writes while a
//                 reader thread takes the echo back: MiB/s of echoed data
//   round trips   one connection, one 64-byte line at a time, waiting for each echo: the
//                 mean round trip in microseconds
//   connections   N connections one after another, each connect + one line echoed + close:
//                 connections per second

#include <anyio/anyio.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

using steady = std::chrono::steady_clock;

struct settings {
    std::size_t bulk_mib = 1024;
    int round_trips = 50000;
    int connections = 10000;
    bool threads = false;  // the blocking thread-per-connection reference server
};

anyio::task<> echo(anyio::socket_stream stream) {
    std::string buffer(65536, '\0');
    try {
        for (;;) {
            const std::size_t n = co_await stream.receive_into(buffer);
            co_await stream.send(std::string_view(buffer.data(), n));
        }
    } catch (const anyio::end_of_stream&) {
    }
}

int connect_blocking(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
    }
    const int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    return fd;
}

void write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n <= 0) throw std::runtime_error("send failed");
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

void read_exactly(int fd, char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::recv(fd, data, size, 0);
        if (n <= 0) throw std::runtime_error("receive failed");
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

double seconds_since(steady::time_point start) {
    return std::chrono::duration<double>(steady::now() - start).count();
}

void bulk(std::uint16_t port, std::size_t mib) {
    const int fd = connect_blocking(port);
    const std::size_t total = mib << 20;
    const auto start = steady::now();
    std::thread writer([&] {
        std::string chunk(65536, 'x');
        for (std::size_t sent = 0; sent < total; sent += chunk.size())
            write_all(fd, chunk.data(), chunk.size());
    });
    std::string buffer(65536, '\0');
    for (std::size_t got = 0; got < total;) {
        const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
        if (n <= 0) throw std::runtime_error("receive failed");
        got += static_cast<std::size_t>(n);
    }
    const double elapsed = seconds_since(start);
    writer.join();
    ::close(fd);
    std::printf("bulk:         %zu MiB echoed in %.2f s = %.0f MiB/s\n", mib, elapsed,
                static_cast<double>(mib) / elapsed);
}

void round_trips(std::uint16_t port, int count) {
    const int fd = connect_blocking(port);
    std::string line(63, 'r');
    line += '\n';
    std::string reply(line.size(), '\0');
    const auto start = steady::now();
    for (int i = 0; i < count; ++i) {
        write_all(fd, line.data(), line.size());
        read_exactly(fd, reply.data(), reply.size());
    }
    const double elapsed = seconds_since(start);
    ::close(fd);
    std::printf("round trips:  %d x 64 B in %.2f s = %.1f us each (%.0f/s)\n", count, elapsed,
                elapsed / count * 1e6, count / elapsed);
}

void connections(std::uint16_t port, int count) {
    const char line[] = "hello\n";
    char reply[sizeof line - 1];
    const auto start = steady::now();
    for (int i = 0; i < count; ++i) {
        const int fd = connect_blocking(port);
        write_all(fd, line, sizeof line - 1);
        read_exactly(fd, reply, sizeof reply);
        ::close(fd);
    }
    const double elapsed = seconds_since(start);
    std::printf("connections:  %d in %.2f s = %.0f/s (connect, 6-byte echo, close)\n", count,
                elapsed, count / elapsed);
}

void run_client(std::uint16_t port, const settings& s) {
    try {
        bulk(port, s.bulk_mib);
        round_trips(port, s.round_trips);
        connections(port, s.connections);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "echo_throughput: %s\n", e.what());
    }
}

// The reference: blocking accept, one detached thread per connection echoing with
// recv/send. The process exits when the client is done.
void run_thread_server(const settings& s) {
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (::bind(listener, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener, 4096) != 0 ||
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
        throw std::runtime_error("cannot listen");
    }
    std::thread acceptor([listener] {
        for (;;) {
            const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) continue;
            const int on = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
            std::thread([fd] {
                std::string buffer(65536, '\0');
                for (;;) {
                    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
                    if (n <= 0) break;
                    write_all(fd, buffer.data(), static_cast<std::size_t>(n));
                }
                ::close(fd);
            }).detach();
        }
    });
    acceptor.detach();
    run_client(ntohs(address.sin_port), s);
}

settings parse(int argc, char** argv) {
    settings s;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view flag = argv[i];
        const long value = std::strtol(argv[i + 1], nullptr, 10);
        if (flag == "--bulk-mib") {
            s.bulk_mib = static_cast<std::size_t>(value);
        } else if (flag == "--round-trips") {
            s.round_trips = static_cast<int>(value);
        } else if (flag == "--connections") {
            s.connections = static_cast<int>(value);
        } else if (flag == "--server") {
            s.threads = std::string_view(argv[i + 1]) == "threads";
        } else {
            std::fprintf(stderr, "unknown option %s\n", argv[i]);
            std::exit(2);
        }
    }
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    const settings s = parse(argc, argv);
    if (s.threads) {
        std::printf("server: blocking, a thread per connection\n");
        run_thread_server(s);
        return 0;
    }
    std::printf("server: anyio (one loop, listener.serve)\n");
    anyio::run([&]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> { co_await listener.serve(echo); });
            std::atomic<bool> done{false};  // read by the loop's poller below, set by the client
            std::thread client([&] {
                run_client(listener.port(), s);
                done = true;
            });
            while (!done)
                co_await anyio::sleep(std::chrono::milliseconds(10));
            client.join();
            co_await listener.aclose();
        });
    });
}
