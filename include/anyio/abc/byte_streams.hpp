#pragma once
// The byte stream interfaces (AnyIO's anyio.abc.ByteReceiveStream, ByteSendStream and
// ByteStream): what every stream of bytes in anyio implements, so that a wrapper (buffered,
// text, TLS, stapled) works over any of them, and user code can take "a byte stream"
// without knowing whether it is a socket, a pipe, a TLS session or a test double.
//
// The end-of-stream convention, for every receive of every stream in anyio: a receive
// returns at least one byte, and when the peer has finished sending and every byte has been
// received, it throws anyio::end_of_stream. It never returns 0 or an empty string to mean
// "ended". Why one exception rather than POSIX's 0: it is AnyIO's rule (memory object
// streams and signal receivers already follow it), a loop that forgets to test for 0 spins
// forever while a forgotten exception ends the loop, and a wrapper reading through several
// layers needs one way to hear the end. It is thrown once per stream, so it costs nothing
// that matters.
//
// Every operation is a checkpoint. Closing is idempotent; an operation on a closed stream
// throws closed_resource_error, a second concurrent receive (or send) busy_resource_error,
// a connection the peer broke broken_resource_error.

#include <anyio/task.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace anyio::abc {

class byte_receive_stream {
public:
    virtual ~byte_receive_stream() = default;

    // Receives at least one and at most buffer.size() (> 0) bytes into buffer; returns how
    // many. Throws end_of_stream when the stream has ended (see the header comment).
    [[nodiscard]] virtual task<std::size_t> receive_into(std::span<char> buffer) = 0;
    // The same, as a string of at most max_bytes (> 0) bytes. The default reads through
    // receive_into.
    [[nodiscard]] virtual task<std::string> receive(std::size_t max_bytes = 65536);
    // Closes the stream (and what it wraps). Idempotent.
    [[nodiscard]] virtual task<> aclose() = 0;

protected:
    byte_receive_stream() = default;
    byte_receive_stream(const byte_receive_stream&) = default;
    byte_receive_stream& operator=(const byte_receive_stream&) = default;
    byte_receive_stream(byte_receive_stream&&) = default;
    byte_receive_stream& operator=(byte_receive_stream&&) = default;
};

class byte_send_stream {
public:
    virtual ~byte_send_stream() = default;

    // Sends every byte (they must stay alive until it completes).
    [[nodiscard]] virtual task<> send(std::string_view bytes) = 0;
    // Closes the stream (and what it wraps). Idempotent.
    [[nodiscard]] virtual task<> aclose() = 0;

protected:
    byte_send_stream() = default;
    byte_send_stream(const byte_send_stream&) = default;
    byte_send_stream& operator=(const byte_send_stream&) = default;
    byte_send_stream(byte_send_stream&&) = default;
    byte_send_stream& operator=(byte_send_stream&&) = default;
};

// Both directions, plus a half-close.
class byte_stream : public byte_receive_stream, public byte_send_stream {
public:
    // No more sends from this side; the peer's receive throws end_of_stream once it has
    // read everything. Receiving goes on. Idempotent.
    [[nodiscard]] virtual task<> send_eof() = 0;
    [[nodiscard]] task<> aclose() override = 0;

protected:
    byte_stream() = default;
    byte_stream(const byte_stream&) = default;
    byte_stream& operator=(const byte_stream&) = default;
    byte_stream(byte_stream&&) = default;
    byte_stream& operator=(byte_stream&&) = default;
};

}  // namespace anyio::abc
