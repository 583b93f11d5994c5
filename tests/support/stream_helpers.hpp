#pragma once
// Test support for byte streams: test data and reading a stream to its end.

#include <anyio/anyio.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace anyio_test {

// Deterministic bytes that differ at every offset, so a lost, duplicated or reordered
// chunk changes the result.
std::string pattern(std::size_t size, std::uint32_t seed);

// Two connected ends of an AF_UNIX stream socket pair.
std::pair<anyio::byte_stream, anyio::byte_stream> socket_pair();

// Everything until end of stream.
anyio::task<std::string> receive_all(anyio::byte_stream& stream);

}  // namespace anyio_test
