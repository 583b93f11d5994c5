#pragma once
// The buffer behind buffered_byte_receive_stream and buffered_byte_stream: bytes received
// from the wrapped stream and not yet handed out, the searches over them, and the busy
// flag of the receiving side. The wrapped stream is passed to every call rather than held,
// so the owner may move; nullptr means the owner is closed (closed_resource_error). The
// owner's receive functions return these tasks directly: one coroutine frame per record,
// not two.
//
// Loop thread only.

#include <anyio/abc/byte_streams.hpp>
#include <anyio/task.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace anyio::detail {

class receive_buffer {
public:
    [[nodiscard]] task<std::string> receive_until(abc::byte_receive_stream* source,
                                                  std::string_view delimiter,
                                                  std::size_t max_bytes);
    [[nodiscard]] task<std::string> receive_exactly(abc::byte_receive_stream* source,
                                                    std::size_t count);
    [[nodiscard]] task<std::size_t> receive_into(abc::byte_receive_stream* source,
                                                 std::span<char> buffer);
    [[nodiscard]] task<std::string> receive(abc::byte_receive_stream* source,
                                            std::size_t max_bytes);

    [[nodiscard]] std::string_view buffered() const noexcept {
        return {storage_.data() + head_, tail_ - head_};
    }
    [[nodiscard]] std::size_t storage_size() const noexcept { return storage_.size(); }
    [[nodiscard]] std::uint64_t bytes_examined() const noexcept { return bytes_examined_; }

private:
    // Receives more bytes from `source` after the buffered ones: at most `want` (> 0), so
    // the buffer holds at most size() + want bytes, in an allocation of at most `limit`
    // (>= size() + want). Returns false at the end of the stream.
    task<bool> fill(abc::byte_receive_stream& source, std::size_t want, std::size_t limit);
    // Takes the first `count` buffered bytes out.
    std::string take(std::size_t count);
    [[nodiscard]] std::size_t size() const noexcept { return tail_ - head_; }

    // The bytes are storage_[head_, tail_); storage_.size() is the capacity. An empty
    // buffer holds no storage while it waits (an idle connection costs no buffer).
    std::string storage_;
    std::size_t head_ = 0;
    std::size_t tail_ = 0;
    std::uint64_t bytes_examined_ = 0;
    bool receiving_ = false;
};

}  // namespace anyio::detail
