#pragma once
// A real stream that hands out one byte per receive, however much has arrived: the slowest
// peer there is, and the same every run when the bytes are in the socket already. It is an
// abc::byte_receive_stream of its own, so it also shows that the wrappers take any.

#include <anyio/anyio.hpp>

#include <cstddef>
#include <span>
#include <utility>

namespace anyio_test {

class one_byte_at_a_time final : public anyio::abc::byte_receive_stream {
public:
    explicit one_byte_at_a_time(anyio::byte_stream inner) : inner_(std::move(inner)) {}
    anyio::task<std::size_t> receive_into(std::span<char> buffer) override {
        ++receives;
        return inner_.receive_into(buffer.first(1));
    }
    anyio::task<> aclose() override { return inner_.aclose(); }
    int receives = 0;

private:
    anyio::byte_stream inner_;
};

}  // namespace anyio_test
