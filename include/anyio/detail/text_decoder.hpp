#pragma once
// The UTF-8 decoding behind text_receive_stream and text_stream: bytes received and not
// yet returned as text (at most the start of one code point, or what follows an invalid
// sequence), and where they are in the stream. The wrapped stream is passed to every call,
// so the owner may move.

#include <anyio/abc/byte_streams.hpp>
#include <anyio/task.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace anyio::detail {

class text_decoder {
public:
    explicit text_decoder(bool replace) noexcept : replace_(replace) {}

    [[nodiscard]] task<std::string> receive(abc::byte_receive_stream& source,
                                            std::size_t max_bytes);

private:
    std::string pending_;       // received, not returned yet
    std::uint64_t offset_ = 0;  // the stream offset of pending_'s first byte
    bool replace_;
    bool ended_ = false;  // the wrapped stream ended
};

// Nothing if `text` is valid UTF-8 (send it as it is); otherwise, when `replace`, the text
// with each maximal invalid subsequence replaced by U+FFFD, else decoding_error naming the
// offset. A code point cut off at the end of `text` is invalid.
[[nodiscard]] std::optional<std::string> checked_utf8(std::string_view text, bool replace);

}  // namespace anyio::detail
