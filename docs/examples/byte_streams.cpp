// byte_stream: a socket pair adopted as two streams, send / receive / receive_into, and
// how each reports the end of the stream.
#include <anyio/anyio.hpp>

#include <array>
#include <cstdio>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>

#include <sys/socket.h>

anyio::task<> main_task() {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) throw std::runtime_error("socketpair");
    anyio::byte_stream left = anyio::byte_stream::adopt(fds[0]);
    anyio::byte_stream right = anyio::byte_stream::adopt(fds[1]);

    co_await left.send("hello, ");
    co_await left.send("world");
    co_await left.send_eof();  // no more from this side; receiving goes on

    // receive() returns what has arrived (at least one byte), not a message: the two sends
    // may come as one piece or two.
    std::string text;
    try {
        for (;;)
            text += co_await right.receive();
    } catch (const anyio::end_of_stream&) {
        std::printf("received \"%s\", then end_of_stream\n", text.c_str());
    }

    // receive_into fills the caller's buffer, and ends the same way: with end_of_stream,
    // never a count of 0.
    co_await right.send("pong");
    co_await right.aclose();
    std::array<char, 16> buffer{};
    const std::size_t n = co_await left.receive_into(std::span<char>(buffer));
    std::printf("received_into %zu bytes: %.*s\n", n, static_cast<int>(n), buffer.data());
    try {
        (void)co_await left.receive_into(std::span<char>(buffer));
    } catch (const anyio::end_of_stream&) {
        std::puts("then end_of_stream");
    }

    // Using a closed stream is an error of this side, not the end of the stream.
    try {
        co_await right.send("more");
    } catch (const anyio::closed_resource_error& error) {
        std::printf("send after close: %s\n", error.what());
    }
}

int main() {
    return anyio::run_main(main_task);
}
