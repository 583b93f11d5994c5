#include <anyio/buffered_stream.hpp>
#include <anyio/exceptions.hpp>
#include <anyio/time.hpp>

#include "io/busy_guard.hpp"

#include <string>
#include <utility>

namespace anyio {

namespace {

using detail::busy_guard;

[[noreturn]] void throw_closed(const char* what) {
    throw closed_resource_error(std::string("anyio: ") + what + " on a closed buffered stream");
}

}  // namespace

// --- buffered_byte_receive_stream ---

buffered_byte_receive_stream::buffered_byte_receive_stream(
    std::unique_ptr<abc::byte_receive_stream> stream)
    : stream_(detail::require_stream(std::move(stream), "buffered_byte_receive_stream")) {}

abc::byte_receive_stream& buffered_byte_receive_stream::wrapped() {
    if (!stream_) throw closed_resource_error("anyio: a moved-from buffered stream");
    return *stream_;
}

task<std::string> buffered_byte_receive_stream::receive_until(std::string_view delimiter,
                                                              std::size_t max_bytes) {
    return buffer_.receive_until(closed_ ? nullptr : stream_.get(), delimiter, max_bytes);
}

task<std::string> buffered_byte_receive_stream::receive_exactly(std::size_t count) {
    return buffer_.receive_exactly(closed_ ? nullptr : stream_.get(), count);
}

task<std::size_t> buffered_byte_receive_stream::receive_into(std::span<char> buffer) {
    return buffer_.receive_into(closed_ ? nullptr : stream_.get(), buffer);
}

task<std::string> buffered_byte_receive_stream::receive(std::size_t max_bytes) {
    return buffer_.receive(closed_ ? nullptr : stream_.get(), max_bytes);
}

task<> buffered_byte_receive_stream::aclose() {
    if (closed_ || !stream_) {
        co_await checkpoint();
        co_return;
    }
    // Closed first, so that a receive started while the wrapped stream closes is refused.
    closed_ = true;
    co_await stream_->aclose();
}

buffered_stream_statistics buffered_byte_receive_stream::statistics() const noexcept {
    return {buffer_.buffered().size(), buffer_.storage_size(), buffer_.bytes_examined()};
}

// --- buffered_byte_stream ---

buffered_byte_stream::buffered_byte_stream(std::unique_ptr<abc::byte_stream> stream)
    : stream_(detail::require_stream(std::move(stream), "buffered_byte_stream")) {}

abc::byte_stream& buffered_byte_stream::source(const char* what) {
    if (closed_ || !stream_) throw_closed(what);
    return *stream_;
}

abc::byte_stream& buffered_byte_stream::wrapped() {
    if (!stream_) throw closed_resource_error("anyio: a moved-from buffered stream");
    return *stream_;
}

task<std::string> buffered_byte_stream::receive_until(std::string_view delimiter,
                                                      std::size_t max_bytes) {
    return buffer_.receive_until(closed_ ? nullptr : stream_.get(), delimiter, max_bytes);
}

task<std::string> buffered_byte_stream::receive_exactly(std::size_t count) {
    return buffer_.receive_exactly(closed_ ? nullptr : stream_.get(), count);
}

task<std::size_t> buffered_byte_stream::receive_into(std::span<char> buffer) {
    return buffer_.receive_into(closed_ ? nullptr : stream_.get(), buffer);
}

task<std::string> buffered_byte_stream::receive(std::size_t max_bytes) {
    return buffer_.receive(closed_ ? nullptr : stream_.get(), max_bytes);
}

task<> buffered_byte_stream::send(std::string_view bytes) {
    abc::byte_stream& to = source("send");
    const busy_guard busy(sending_,
                          "anyio: another task is already sending on this buffered stream");
    co_await to.send(bytes);
}

task<> buffered_byte_stream::send_eof() {
    co_await source("send_eof").send_eof();
}

task<> buffered_byte_stream::aclose() {
    if (closed_ || !stream_) {
        co_await checkpoint();
        co_return;
    }
    closed_ = true;
    co_await stream_->aclose();
}

buffered_stream_statistics buffered_byte_stream::statistics() const noexcept {
    return {buffer_.buffered().size(), buffer_.storage_size(), buffer_.bytes_examined()};
}

}  // namespace anyio
