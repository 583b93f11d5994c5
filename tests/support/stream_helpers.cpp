#include "support/stream_helpers.hpp"

#include <stdexcept>

#include <sys/socket.h>

namespace anyio_test {

std::string pattern(std::size_t size, std::uint32_t seed) {
    std::string s(size, '\0');
    std::uint32_t x = seed;
    for (auto& c : s) {
        x = x * 1664525u + 1013904223u;
        c = static_cast<char>(x >> 24);
    }
    return s;
}

std::pair<anyio::byte_stream, anyio::byte_stream> socket_pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) throw std::runtime_error("socketpair");
    return {anyio::byte_stream::adopt(fds[0]), anyio::byte_stream::adopt(fds[1])};
}

anyio::task<std::string> receive_all(anyio::byte_stream& stream) {
    std::string all;
    std::string buffer(1 << 16, '\0');
    for (;;) {
        std::size_t n = 0;
        try {
            n = co_await stream.receive_into(buffer);
        } catch (const anyio::end_of_stream&) {
            co_return all;
        }
        all.append(buffer, 0, n);
    }
}

}  // namespace anyio_test
