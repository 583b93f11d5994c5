#pragma once
// stapled_byte_stream: a send stream and a receive stream used as one abc::byte_stream
// (AnyIO's StapledByteStream), e.g. a child's stdin and stdout pipes as one conversation,
// or two one-way pipes.
//
//     anyio::stapled_byte_stream both(std::move(child.stdin_stream()),
//                                     std::move(child.stdout_stream()));
//
// send() goes to the send stream, receive() / receive_into() come from the receive stream;
// send_eof() closes the send stream (the peer's receive then ends), and aclose() closes
// both (the receive stream even if closing the send stream failed). It owns both streams:
// each is any class derived from abc::byte_send_stream / abc::byte_receive_stream, by value
// (moved in) or as a std::unique_ptr (std::invalid_argument if null).
//
// Every operation is a checkpoint (it is the wrapped stream's). A second concurrent
// receive (or send) throws busy_resource_error; anything after aclose() (a send after
// send_eof(), or on a moved-from stream) throws closed_resource_error; the wrapped streams'
// errors (end_of_stream, broken_resource_error) pass through. Loop thread only; not to be
// moved while an operation runs.

#include <anyio/abc/byte_streams.hpp>
#include <anyio/detail/boxed_stream.hpp>
#include <anyio/task.hpp>

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace anyio {

class stapled_byte_stream : public abc::byte_stream {
public:
    template <class Send, class Receive>
    requires detail::boxable_stream<Send, abc::byte_send_stream, stapled_byte_stream> &&
        detail::boxable_stream<Receive, abc::byte_receive_stream, stapled_byte_stream>
        stapled_byte_stream(Send&& send_stream, Receive&& receive_stream)
        : stapled_byte_stream(
              detail::box_stream<abc::byte_send_stream>(std::forward<Send>(send_stream)),
              detail::box_stream<abc::byte_receive_stream>(std::forward<Receive>(receive_stream))) {
    }
    stapled_byte_stream(std::unique_ptr<abc::byte_send_stream> send_stream,
                        std::unique_ptr<abc::byte_receive_stream> receive_stream);

    stapled_byte_stream(stapled_byte_stream&&) noexcept = default;
    stapled_byte_stream& operator=(stapled_byte_stream&&) noexcept = default;
    ~stapled_byte_stream() override = default;

    [[nodiscard]] task<std::size_t> receive_into(std::span<char> buffer) override;
    [[nodiscard]] task<std::string> receive(std::size_t max_bytes = 65536) override;
    [[nodiscard]] task<> send(std::string_view bytes) override;
    // Closes the send stream; receiving goes on. Idempotent.
    [[nodiscard]] task<> send_eof() override;
    // Closes both streams. Idempotent.
    [[nodiscard]] task<> aclose() override;

    // The two streams, for their own accessors (closed_resource_error once moved from).
    [[nodiscard]] abc::byte_send_stream& send_stream();
    [[nodiscard]] abc::byte_receive_stream& receive_stream();

private:
    abc::byte_send_stream& sender(const char* what);
    abc::byte_receive_stream& receiver(const char* what);

    std::unique_ptr<abc::byte_send_stream> send_;
    std::unique_ptr<abc::byte_receive_stream> receive_;
    bool receiving_ = false;
    bool sending_ = false;
    bool eof_sent_ = false;
    bool closed_ = false;
};

}  // namespace anyio
