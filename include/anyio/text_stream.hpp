#pragma once
// Text streams (AnyIO's TextReceiveStream, TextSendStream and TextStream): UTF-8 text over
// any byte stream.
//
//     anyio::text_stream text(std::move(socket));
//     co_await text.send("grüße\n");
//     std::string reply = co_await text.receive();  // whole code points only
//
// receive() returns at least one whole code point, never part of one: a multibyte sequence
// split across two receives of the wrapped stream is held back until it is complete. Bytes
// that are not UTF-8 (a stray continuation byte, an overlong form, a surrogate, a code
// point past U+10FFFF, a sequence cut off by the end of the stream) throw decoding_error
// (a std::invalid_argument) naming the byte offset in the stream; the text before them is
// returned first, and the bad bytes are skipped, so receiving can go on. Constructed with
// text_errors::replace, each maximal invalid subsequence becomes U+FFFD instead (Python's
// errors="replace"). The end of the stream is end_of_stream, as for every stream.
//
// send(text) checks the text the same way before sending anything (decoding_error with
// the offset in the text, or the replacement), so a peer never gets invalid UTF-8 from
// this side; each send must be whole code points.
//
// A wrapper owns the stream it wraps: any class derived from abc::byte_receive_stream /
// abc::byte_send_stream / abc::byte_stream, by value (moved in) or as a std::unique_ptr
// (std::invalid_argument if null). Every operation is a checkpoint; cancellation loses no
// bytes (a code point's first bytes stay held for the next receive). A second concurrent
// receive (or send) throws busy_resource_error, anything after aclose() (or on a moved-from
// stream) closed_resource_error; the wrapped stream's errors (broken_resource_error, ...)
// pass through. Loop thread only; not to be moved while an operation runs.

#include <anyio/abc/byte_streams.hpp>
#include <anyio/detail/boxed_stream.hpp>
#include <anyio/detail/text_decoder.hpp>
#include <anyio/task.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace anyio {

// What a text stream does with bytes that are not UTF-8.
enum class text_errors {
    strict,   // decoding_error
    replace,  // U+FFFD
};

class text_receive_stream {
public:
    template <class S>
    requires detail::boxable_stream<S, abc::byte_receive_stream, text_receive_stream>
    explicit text_receive_stream(S&& stream, text_errors errors = text_errors::strict)
        : text_receive_stream(detail::box_stream<abc::byte_receive_stream>(std::forward<S>(stream)),
                              errors) {}
    explicit text_receive_stream(std::unique_ptr<abc::byte_receive_stream> stream,
                                 text_errors errors = text_errors::strict);

    text_receive_stream(text_receive_stream&&) noexcept = default;
    text_receive_stream& operator=(text_receive_stream&&) noexcept = default;

    // Whole code points: what has arrived, read with receive(max_bytes) from the wrapped
    // stream (so about max_bytes bytes at most; a held-back start of a code point and
    // replacement characters can add a few).
    [[nodiscard]] task<std::string> receive(std::size_t max_bytes = 65536);
    // Closes the wrapped stream; idempotent.
    [[nodiscard]] task<> aclose();

    [[nodiscard]] abc::byte_receive_stream& wrapped();

private:
    std::unique_ptr<abc::byte_receive_stream> stream_;
    detail::text_decoder decoder_;
    bool receiving_ = false;
    bool closed_ = false;
};

class text_send_stream {
public:
    template <class S>
    requires detail::boxable_stream<S, abc::byte_send_stream, text_send_stream>
    explicit text_send_stream(S&& stream, text_errors errors = text_errors::strict)
        : text_send_stream(detail::box_stream<abc::byte_send_stream>(std::forward<S>(stream)),
                           errors) {}
    explicit text_send_stream(std::unique_ptr<abc::byte_send_stream> stream,
                              text_errors errors = text_errors::strict);

    text_send_stream(text_send_stream&&) noexcept = default;
    text_send_stream& operator=(text_send_stream&&) noexcept = default;

    // Checks the text (see the header comment), then sends all of it.
    [[nodiscard]] task<> send(std::string_view text);
    // Closes the wrapped stream; idempotent.
    [[nodiscard]] task<> aclose();

    [[nodiscard]] abc::byte_send_stream& wrapped();

private:
    std::unique_ptr<abc::byte_send_stream> stream_;
    bool replace_;
    bool sending_ = false;
    bool closed_ = false;
};

class text_stream {
public:
    template <class S>
    requires detail::boxable_stream<S, abc::byte_stream, text_stream>
    explicit text_stream(S&& stream, text_errors errors = text_errors::strict)
        : text_stream(detail::box_stream<abc::byte_stream>(std::forward<S>(stream)), errors) {}
    explicit text_stream(std::unique_ptr<abc::byte_stream> stream,
                         text_errors errors = text_errors::strict);

    text_stream(text_stream&&) noexcept = default;
    text_stream& operator=(text_stream&&) noexcept = default;

    [[nodiscard]] task<std::string> receive(std::size_t max_bytes = 65536);
    [[nodiscard]] task<> send(std::string_view text);
    // No more sends from this side (the wrapped stream's send_eof); receiving goes on.
    [[nodiscard]] task<> send_eof();
    // Closes the wrapped stream; idempotent.
    [[nodiscard]] task<> aclose();

    [[nodiscard]] abc::byte_stream& wrapped();

private:
    std::unique_ptr<abc::byte_stream> stream_;
    detail::text_decoder decoder_;
    bool replace_;
    bool receiving_ = false;
    bool sending_ = false;
    bool closed_ = false;
};

}  // namespace anyio
