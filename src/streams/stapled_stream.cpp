#include <anyio/exceptions.hpp>
#include <anyio/stapled_stream.hpp>
#include <anyio/time.hpp>

#include "io/busy_guard.hpp"

#include <exception>
#include <string>
#include <utility>

namespace anyio {

using detail::busy_guard;

stapled_byte_stream::stapled_byte_stream(std::unique_ptr<abc::byte_send_stream> send_stream,
                                         std::unique_ptr<abc::byte_receive_stream> receive_stream)
    : send_(detail::require_stream(std::move(send_stream), "stapled_byte_stream")),
      receive_(detail::require_stream(std::move(receive_stream), "stapled_byte_stream")) {}

abc::byte_send_stream& stapled_byte_stream::sender(const char* what) {
    if (closed_ || !send_) {
        throw closed_resource_error(std::string("anyio: ") + what + " on a closed stapled stream");
    }
    if (eof_sent_) throw closed_resource_error(std::string("anyio: ") + what + " after send_eof");
    return *send_;
}

abc::byte_receive_stream& stapled_byte_stream::receiver(const char* what) {
    if (closed_ || !receive_) {
        throw closed_resource_error(std::string("anyio: ") + what + " on a closed stapled stream");
    }
    return *receive_;
}

abc::byte_send_stream& stapled_byte_stream::send_stream() {
    if (!send_) throw closed_resource_error("anyio: a moved-from stapled stream");
    return *send_;
}

abc::byte_receive_stream& stapled_byte_stream::receive_stream() {
    if (!receive_) throw closed_resource_error("anyio: a moved-from stapled stream");
    return *receive_;
}

task<std::size_t> stapled_byte_stream::receive_into(std::span<char> buffer) {
    abc::byte_receive_stream& from = receiver("receive_into");
    const busy_guard busy(receiving_,
                          "anyio: another task is already receiving on this stapled stream");
    co_return co_await from.receive_into(buffer);
}

task<std::string> stapled_byte_stream::receive(std::size_t max_bytes) {
    abc::byte_receive_stream& from = receiver("receive");
    const busy_guard busy(receiving_,
                          "anyio: another task is already receiving on this stapled stream");
    co_return co_await from.receive(max_bytes);
}

task<> stapled_byte_stream::send(std::string_view bytes) {
    abc::byte_send_stream& to = sender("send");
    const busy_guard busy(sending_,
                          "anyio: another task is already sending on this stapled stream");
    co_await to.send(bytes);
}

task<> stapled_byte_stream::send_eof() {
    if (closed_ || !send_)
        throw closed_resource_error("anyio: send_eof on a closed stapled stream");
    if (eof_sent_) {
        co_await checkpoint();
        co_return;
    }
    if (sending_) throw busy_resource_error("anyio: send_eof while a send is running");
    eof_sent_ = true;
    co_await send_->aclose();
}

task<> stapled_byte_stream::aclose() {
    if (closed_ || !send_ || !receive_) {
        co_await checkpoint();
        co_return;
    }
    closed_ = true;
    // Both, whatever the first does: an error closing the send side must not leave the
    // receive side open.
    std::exception_ptr failure;
    try {
        co_await send_->aclose();
    } catch (...) {
        failure = std::current_exception();
    }
    co_await receive_->aclose();
    if (failure) std::rethrow_exception(failure);
}

}  // namespace anyio
