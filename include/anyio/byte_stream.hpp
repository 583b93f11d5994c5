#pragma once
// anyio::byte_stream: a reliable, ordered stream of bytes over a file descriptor (a
// connected socket or a pipe end); AnyIO's ByteStream. Sockets (connect_tcp, listeners,
// UNIX sockets) and subprocess pipes hand these out.
//
// Full duplex: one task may receive while another sends. A second concurrent receive (or
// send) gets busy_resource_error. Every operation is a checkpoint, the way Trio's are: it
// throws `cancelled` before acting if the task's scope is cancelled, and then either waits
// (cancellably) or completes at once and lets the other ready tasks run before it returns
// (without a second cancellation check, so a result is never lost). Cancellation never
// loses received data: a receive reads from the kernel only in the step that returns the
// bytes to the caller. A send cancelled half-way may have passed part of its bytes to the
// kernel (the peer sees a prefix); send on a socket never raises SIGPIPE.
//
// Loop thread only; a stream belongs to the loop of the task that first waits on it. The
// bytes passed to send() must stay alive until it completes (a temporary in the co_await
// expression does), and a stream must not be moved while an operation on it is running.

#include <anyio/abc/byte_streams.hpp>
#include <anyio/task.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace anyio {

namespace detail {
class fd_watch;
}

class byte_stream : public abc::byte_stream {
public:
    // A closed stream (every operation throws closed_resource_error).
    byte_stream() noexcept;
    // Takes ownership of a connected socket or pipe end; makes it non-blocking and
    // close-on-exec. Throws std::invalid_argument for a negative fd.
    static byte_stream adopt(int fd);

    byte_stream(byte_stream&&) noexcept;
    byte_stream& operator=(byte_stream&&) noexcept;
    byte_stream(const byte_stream&) = delete;
    byte_stream& operator=(const byte_stream&) = delete;
    ~byte_stream() override;  // closes the descriptor

    // Receives at least one and at most max_bytes (> 0) bytes: what has arrived, in a
    // string of that size. No buffer is held while it waits (the read goes through one
    // buffer per thread, then is copied), so waiting connections cost no receive buffer.
    // Throws end_of_stream when
    // the peer finished sending, broken_resource_error when the connection was reset,
    // closed_resource_error when this side closed the stream, std::system_error otherwise.
    [[nodiscard]] task<std::string> receive(std::size_t max_bytes = 65536) override;
    // Like receive, into the caller's buffer (non-empty); returns the byte count (at least
    // 1). Throws end_of_stream when the peer finished sending, like receive: it never
    // returns 0 (the convention in abc/byte_streams.hpp).
    [[nodiscard]] task<std::size_t> receive_into(std::span<char> buffer) override;
    // Sends every byte. Throws broken_resource_error if the peer is gone,
    // closed_resource_error if this side closed the stream or sent EOF.
    [[nodiscard]] task<> send(std::string_view bytes) override;
    // No more sends from this side: the peer's receive reports end of stream once it has
    // read everything (shutdown(SHUT_WR) on a socket; closes a pipe's write end). Receiving
    // goes on. Idempotent.
    [[nodiscard]] task<> send_eof() override;
    // Closes the stream; a task blocked in receive/send on it gets closed_resource_error.
    // Idempotent. close() is the same without the checkpoint.
    [[nodiscard]] task<> aclose() override;
    void close() noexcept;

    [[nodiscard]] bool is_open() const noexcept;
    // The descriptor (-1 once closed), for setsockopt and the like; still owned.
    [[nodiscard]] int native_handle() const noexcept;

protected:
    explicit byte_stream(int fd);

private:
    // One read attempt: bytes read (0 at end of stream), or -1 if none are there yet.
    std::ptrdiff_t read_some(char* data, std::size_t size);
    // One receive() attempt: nothing if no data is there yet, an empty string at end of
    // stream.
    std::optional<std::string> try_receive(std::size_t max_bytes);

    std::unique_ptr<detail::fd_watch> watch_;
    bool is_socket_ = false;
    bool is_write_only_ = false;  // a pipe's write end: send_eof closes it
    bool eof_sent_ = false;
    bool receiving_ = false;
    bool sending_ = false;
};

}  // namespace anyio
