#pragma once
// Buffered byte streams (AnyIO's BufferedByteReceiveStream, and BufferedByteStream, which
// also sends): read a delimited record (a line) or exactly N bytes from any byte stream.
//
//     anyio::buffered_byte_stream client(std::move(socket));
//     for (;;) {
//         std::string line;
//         try {
//             line = co_await client.receive_until("\n", 65536);
//         } catch (const anyio::end_of_stream&) {
//             break;  // the peer ended its side after a whole line
//         }
//         co_await client.send(line + "\n");
//     }
//
// A wrapper owns the stream it wraps: pass any class derived from abc::byte_receive_stream
// (abc::byte_stream for buffered_byte_stream) by value (moved in), or a std::unique_ptr to
// one. It implements the same interface, so it can be wrapped again (by a text stream, a
// stapled stream, another buffered stream).
//
// receive_until(delimiter, max_bytes) returns the bytes before the delimiter and consumes
// the delimiter; the delimiter must end within the first max_bytes buffered bytes, so the
// buffer never holds more than max_bytes for it (it reads at most what fits), and
// delimiter_not_found is thrown once max_bytes bytes are buffered without one. A search
// never scans a byte twice: after a miss it goes on from the end of what it scanned (less
// delimiter.size() - 1 bytes, for a delimiter split across two receives), so a record that
// arrives one byte at a time costs time in proportion to its length.
// receive_exactly(n) returns n bytes. At the end of the stream both throw
// anyio::end_of_stream if nothing is buffered (the stream ended between records: the end
// of stream convention, abc/byte_streams.hpp; AnyIO raises IncompleteRead there, which
// makes a loop over records end by an error), and incomplete_read if part of a record is
// buffered; the part stays buffered, and receive() returns it.
//
// receive() and receive_into() return buffered bytes first, and read from the wrapped
// stream only when nothing is buffered.
//
// Checkpoints: every receive throws `cancelled` first if the task's scope is cancelled;
// it lets other tasks run only when it reads from the wrapped stream (that stream's
// receive is a full checkpoint), not when the buffer alone serves it, as in AnyIO. So a
// loop over lines yields once per chunk of up to 64 KiB, as a loop over receive_into does,
// not once per line (bench/line_reading). Cancellation loses no bytes: what was received
// from the wrapped stream before the cancellation stays buffered for the next call. A second
// concurrent receive throws busy_resource_error; any operation after aclose() (or on a
// moved-from stream) throws closed_resource_error; the wrapped stream's errors
// (broken_resource_error, ...) pass through. Loop thread only; not to be moved while an
// operation runs.

#include <anyio/abc/byte_streams.hpp>
#include <anyio/detail/boxed_stream.hpp>
#include <anyio/detail/receive_buffer.hpp>
#include <anyio/task.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace anyio {

struct buffered_stream_statistics {
    // Received from the wrapped stream and not handed out yet.
    std::size_t buffered_bytes = 0;
    // The buffer's allocation (bytes), 0 while nothing is buffered.
    std::size_t storage_bytes = 0;
    // Bytes receive_until searched for its delimiter, over the stream's life. Each byte
    // counts once per call, plus delimiter.size() - 1 per receive the search spans.
    std::uint64_t bytes_examined = 0;
};

class buffered_byte_receive_stream : public abc::byte_receive_stream {
public:
    template <class S>
    requires detail::boxable_stream<S, abc::byte_receive_stream, buffered_byte_receive_stream>
    explicit buffered_byte_receive_stream(S&& stream)
        : stream_(detail::box_stream<abc::byte_receive_stream>(std::forward<S>(stream))) {}
    // Throws std::invalid_argument for a null pointer.
    explicit buffered_byte_receive_stream(std::unique_ptr<abc::byte_receive_stream> stream);

    buffered_byte_receive_stream(buffered_byte_receive_stream&&) noexcept = default;
    buffered_byte_receive_stream& operator=(buffered_byte_receive_stream&&) noexcept = default;
    ~buffered_byte_receive_stream() override = default;

    // The bytes before the next `delimiter` (non-empty), which is consumed. Throws
    // delimiter_not_found when max_bytes (>= delimiter.size()) bytes are buffered without
    // it, incomplete_read / end_of_stream at the end (see the header comment).
    [[nodiscard]] task<std::string> receive_until(std::string_view delimiter,
                                                  std::size_t max_bytes);
    // Exactly `count` bytes (none for 0). incomplete_read / end_of_stream at the end.
    [[nodiscard]] task<std::string> receive_exactly(std::size_t count);
    [[nodiscard]] task<std::size_t> receive_into(std::span<char> buffer) override;
    [[nodiscard]] task<std::string> receive(std::size_t max_bytes = 65536) override;
    // Closes the wrapped stream; idempotent.
    [[nodiscard]] task<> aclose() override;

    // The bytes received and not handed out yet (valid until the next operation).
    [[nodiscard]] std::string_view buffer() const noexcept { return buffer_.buffered(); }
    [[nodiscard]] buffered_stream_statistics statistics() const noexcept;
    // The wrapped stream (for its own accessors); receiving from it directly skips the
    // buffer. Throws closed_resource_error on a moved-from stream.
    [[nodiscard]] abc::byte_receive_stream& wrapped();

private:
    std::unique_ptr<abc::byte_receive_stream> stream_;
    detail::receive_buffer buffer_;
    bool closed_ = false;
};

class buffered_byte_stream : public abc::byte_stream {
public:
    template <class S>
    requires detail::boxable_stream<S, abc::byte_stream, buffered_byte_stream>
    explicit buffered_byte_stream(S&& stream)
        : stream_(detail::box_stream<abc::byte_stream>(std::forward<S>(stream))) {}
    // Throws std::invalid_argument for a null pointer.
    explicit buffered_byte_stream(std::unique_ptr<abc::byte_stream> stream);

    buffered_byte_stream(buffered_byte_stream&&) noexcept = default;
    buffered_byte_stream& operator=(buffered_byte_stream&&) noexcept = default;
    ~buffered_byte_stream() override = default;

    // As buffered_byte_receive_stream's.
    [[nodiscard]] task<std::string> receive_until(std::string_view delimiter,
                                                  std::size_t max_bytes);
    [[nodiscard]] task<std::string> receive_exactly(std::size_t count);
    [[nodiscard]] task<std::size_t> receive_into(std::span<char> buffer) override;
    [[nodiscard]] task<std::string> receive(std::size_t max_bytes = 65536) override;
    // Straight to the wrapped stream (sends are not buffered). A second concurrent send
    // throws busy_resource_error.
    [[nodiscard]] task<> send(std::string_view bytes) override;
    [[nodiscard]] task<> send_eof() override;
    // Closes the wrapped stream; idempotent.
    [[nodiscard]] task<> aclose() override;

    [[nodiscard]] std::string_view buffer() const noexcept { return buffer_.buffered(); }
    [[nodiscard]] buffered_stream_statistics statistics() const noexcept;
    [[nodiscard]] abc::byte_stream& wrapped();

private:
    abc::byte_stream& source(const char* what);

    std::unique_ptr<abc::byte_stream> stream_;
    detail::receive_buffer buffer_;
    bool sending_ = false;
    bool closed_ = false;
};

}  // namespace anyio
