#include <anyio/exceptions.hpp>
#include <anyio/text_stream.hpp>
#include <anyio/time.hpp>

#include "core/schedule_point.hpp"
#include "io/busy_guard.hpp"
#include "streams/utf8.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace anyio {

namespace detail {

namespace {

std::string invalid_at(const char* where, std::uint64_t offset, std::string_view bytes,
                       const utf8_sequence& sequence, bool at_end) {
    std::string what = std::string("anyio: ") + where + ": invalid UTF-8 at byte offset " +
                       std::to_string(offset) + " (" + describe_byte(bytes[0]);
    if (sequence.status == utf8_status::incomplete) {
        what += at_end ? ", a code point cut off by the end of the stream"
                       : ", a code point cut off at the end of the text";
    } else if (const auto lead = static_cast<unsigned char>(bytes[0]);
               lead >= 0xC2 && lead <= 0xF4) {
        // A good first byte: the byte after the sequence's valid part is the bad one.
        what += " followed by " + describe_byte(bytes[sequence.length]);
    }
    return what + ")";
}

}  // namespace

task<std::string> text_decoder::receive(abc::byte_receive_stream& source, std::size_t max_bytes) {
    throw_if_cancelled("receive()");
    bool waited = false;
    for (;;) {
        // Decodes what is pending: `used` bytes become text; replacements (if any) are
        // written to `text` along with the valid bytes before them.
        std::string text;
        std::size_t copied = 0;  // pending_[0, copied) is in `text` already
        std::size_t used = 0;
        while (used < pending_.size()) {
            const std::string_view rest = std::string_view(pending_).substr(used);
            const utf8_sequence sequence = next_utf8_sequence(rest);
            if (sequence.status == utf8_status::valid) {
                used += sequence.length;
                continue;
            }
            if (sequence.status == utf8_status::incomplete && !ended_) break;  // more to come
            if (replace_) {
                text.append(pending_, copied, used - copied);
                text += replacement_character;
                used += sequence.length;
                copied = used;
                continue;
            }
            if (used > 0) break;  // the text before it now, the error at the next receive
            const std::string what =
                invalid_at("text stream receive", offset_, rest, sequence, true);
            const std::uint64_t at = offset_;
            // Skipped, so that a caller who catches the error can receive what follows.
            pending_.erase(0, sequence.length);
            offset_ += sequence.length;
            throw decoding_error(static_cast<std::size_t>(at), what);
        }
        if (used > 0) {
            if (copied == 0 && used == pending_.size()) {
                text = std::move(pending_);  // all valid (the usual case): no copy
                pending_.clear();
            } else {
                text.append(pending_, copied, used - copied);
                pending_.erase(0, used);
            }
            offset_ += used;
            if (!waited) co_await cancel_shielded_yield{};
            co_return text;
        }
        if (ended_) throw end_of_stream();
        std::string bytes;
        try {
            bytes = co_await source.receive(max_bytes);
        } catch (const end_of_stream&) {
            ended_ = true;
        }
        waited = true;
        if (pending_.empty()) {
            pending_ = std::move(bytes);
        } else {
            pending_ += bytes;
        }
    }
}

std::optional<std::string> checked_utf8(std::string_view text, bool replace) {
    std::optional<std::string> fixed;
    std::size_t copied = 0;
    std::size_t at = 0;
    while (at < text.size()) {
        const utf8_sequence sequence = next_utf8_sequence(text.substr(at));
        if (sequence.status == utf8_status::valid) {
            at += sequence.length;
            continue;
        }
        if (!replace) {
            throw decoding_error(
                at, invalid_at("text stream send", at, text.substr(at), sequence, false));
        }
        if (!fixed) fixed.emplace();
        fixed->append(text.substr(copied, at - copied));
        *fixed += replacement_character;
        at += sequence.length;
        copied = at;
    }
    if (fixed) fixed->append(text.substr(copied));
    return fixed;
}

}  // namespace detail

namespace {

using detail::busy_guard;

[[noreturn]] void throw_closed(const char* what) {
    throw closed_resource_error(std::string("anyio: ") + what + " on a closed text stream");
}

constexpr const char* busy_receiving =
    "anyio: another task is already receiving on this text stream";
constexpr const char* busy_sending = "anyio: another task is already sending on this text stream";

}  // namespace

// --- text_receive_stream ---

text_receive_stream::text_receive_stream(std::unique_ptr<abc::byte_receive_stream> stream,
                                         text_errors errors)
    : stream_(detail::require_stream(std::move(stream), "text_receive_stream")),
      decoder_(errors == text_errors::replace) {}

task<std::string> text_receive_stream::receive(std::size_t max_bytes) {
    if (closed_ || !stream_) throw_closed("receive");
    const busy_guard busy(receiving_, busy_receiving);
    co_return co_await decoder_.receive(*stream_, max_bytes);
}

task<> text_receive_stream::aclose() {
    if (closed_ || !stream_) {
        co_await checkpoint();
        co_return;
    }
    closed_ = true;
    co_await stream_->aclose();
}

abc::byte_receive_stream& text_receive_stream::wrapped() {
    if (!stream_) throw closed_resource_error("anyio: a moved-from text stream");
    return *stream_;
}

// --- text_send_stream ---

text_send_stream::text_send_stream(std::unique_ptr<abc::byte_send_stream> stream,
                                   text_errors errors)
    : stream_(detail::require_stream(std::move(stream), "text_send_stream")),
      replace_(errors == text_errors::replace) {}

task<> text_send_stream::send(std::string_view text) {
    if (closed_ || !stream_) throw_closed("send");
    const busy_guard busy(sending_, busy_sending);
    const std::optional<std::string> fixed = detail::checked_utf8(text, replace_);
    co_await stream_->send(fixed ? std::string_view(*fixed) : text);
}

task<> text_send_stream::aclose() {
    if (closed_ || !stream_) {
        co_await checkpoint();
        co_return;
    }
    closed_ = true;
    co_await stream_->aclose();
}

abc::byte_send_stream& text_send_stream::wrapped() {
    if (!stream_) throw closed_resource_error("anyio: a moved-from text stream");
    return *stream_;
}

// --- text_stream ---

text_stream::text_stream(std::unique_ptr<abc::byte_stream> stream, text_errors errors)
    : stream_(detail::require_stream(std::move(stream), "text_stream")),
      decoder_(errors == text_errors::replace),
      replace_(errors == text_errors::replace) {}

task<std::string> text_stream::receive(std::size_t max_bytes) {
    if (closed_ || !stream_) throw_closed("receive");
    const busy_guard busy(receiving_, busy_receiving);
    co_return co_await decoder_.receive(*stream_, max_bytes);
}

task<> text_stream::send(std::string_view text) {
    if (closed_ || !stream_) throw_closed("send");
    const busy_guard busy(sending_, busy_sending);
    const std::optional<std::string> fixed = detail::checked_utf8(text, replace_);
    co_await stream_->send(fixed ? std::string_view(*fixed) : text);
}

task<> text_stream::send_eof() {
    if (closed_ || !stream_) throw_closed("send_eof");
    co_await stream_->send_eof();
}

task<> text_stream::aclose() {
    if (closed_ || !stream_) {
        co_await checkpoint();
        co_return;
    }
    closed_ = true;
    co_await stream_->aclose();
}

abc::byte_stream& text_stream::wrapped() {
    if (!stream_) throw closed_resource_error("anyio: a moved-from text stream");
    return *stream_;
}

}  // namespace anyio
