#include <anyio/abc/byte_streams.hpp>

#include <stdexcept>
#include <utility>

namespace anyio::abc {

task<std::string> byte_receive_stream::receive(std::size_t max_bytes) {
    if (max_bytes == 0) throw std::invalid_argument("anyio: receive needs max_bytes > 0");
    std::string bytes(max_bytes, '\0');
    const std::size_t n = co_await receive_into(bytes);
    bytes.resize(n);
    co_return std::move(bytes);
}

}  // namespace anyio::abc
