// Buffered byte streams: a line protocol read one line per loop turn with receive_until,
// a body of known size with receive_exactly, and what a line that is too long and a line
// cut off by the end of the stream do.
#include <anyio/anyio.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>

#include <sys/socket.h>

anyio::task<> main_task() {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) throw std::runtime_error("socketpair");
    anyio::byte_stream client = anyio::byte_stream::adopt(fds[0]);
    // The buffered stream owns the stream it wraps (moved in).
    anyio::buffered_byte_stream server(anyio::byte_stream::adopt(fds[1]));

    co_await client.send("GET a\r\nPUT 5\r\nhelloGET b\r\n");
    co_await client.send(std::string(100, 'x'));  // a line longer than the server allows
    co_await client.send_eof();

    // One line per turn: the bytes before "\r\n", which is consumed. The line must end
    // within 64 bytes; the buffer never holds more.
    for (;;) {
        std::string line;
        try {
            line = co_await server.receive_until("\r\n", 64);
        } catch (const anyio::end_of_stream&) {
            break;  // the client ended its side after a whole line
        } catch (const anyio::delimiter_not_found& error) {
            std::printf("too long: %s\n", error.what());
            break;
        }
        if (line.starts_with("PUT ")) {
            // The body follows the line: exactly that many bytes, whatever comes after.
            const std::string body = co_await server.receive_exactly(std::stoul(line.substr(4)));
            std::printf("PUT with body \"%s\"\n", body.c_str());
        } else {
            std::printf("line \"%s\"\n", line.c_str());
        }
    }
    std::printf("buffered: %zu bytes\n", server.statistics().buffered_bytes);

    // The end of the stream in the middle of a line: incomplete_read, and the bytes that
    // did come stay buffered (receive() returns them).
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) throw std::runtime_error("socketpair");
    anyio::byte_stream writer = anyio::byte_stream::adopt(fds[0]);
    anyio::buffered_byte_receive_stream reader(anyio::byte_stream::adopt(fds[1]));
    co_await writer.send("no newline");
    co_await writer.aclose();
    try {
        (void)co_await reader.receive_until("\n", 64);
    } catch (const anyio::incomplete_read& error) {
        std::printf("incomplete: %s\n", error.what());
    }
    const std::string rest = co_await reader.receive();
    std::printf("left in the buffer: \"%s\"\n", rest.c_str());
}

int main() {
    return anyio::run_main(main_task);
}
