#include "support/stream_helpers.hpp"

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

anyio::task<std::string> receive_all(anyio::byte_stream& stream) {
    std::string all;
    std::string buffer(1 << 16, '\0');
    for (;;) {
        const std::size_t n = co_await stream.receive_into(buffer);
        if (n == 0) co_return all;
        all.append(buffer, 0, n);
    }
}

}  // namespace anyio_test
