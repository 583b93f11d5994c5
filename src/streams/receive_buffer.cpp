#include <anyio/detail/receive_buffer.hpp>
#include <anyio/exceptions.hpp>

#include "core/schedule_point.hpp"
#include "io/busy_guard.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

namespace anyio::detail {

using detail::busy_guard;

// Every receive checks for cancellation first (so a loop over buffered records stays
// cancellable), but yields to other tasks only when it reads from the wrapped stream, whose
// receive is a full checkpoint: a record served from the buffer alone returns at once, as
// in AnyIO. A loop over lines then yields once per chunk the wrapped stream hands over (at
// most 64 KiB), as a loop over receive_into does, instead of once per line, which cost 15
// times the time of the loop by hand in bench/line_reading.

namespace {

// The most one receive asks the wrapped stream for (AnyIO's default receive size).
constexpr std::size_t chunk = 65536;

constexpr const char* busy_receiving =
    "anyio: another task is already receiving on this buffered stream";

// The stream to read from, or closed_resource_error.
abc::byte_receive_stream& open(abc::byte_receive_stream* source, const char* what) {
    if (source == nullptr) {
        throw closed_resource_error(std::string("anyio: ") + what + " on a closed buffered stream");
    }
    return *source;
}

}  // namespace

task<bool> receive_buffer::fill(abc::byte_receive_stream& source, std::size_t want,
                                std::size_t limit) {
    want = std::min(want, chunk);
    if (size() == 0) {
        // Nothing buffered: hold no storage while waiting; the wrapped stream's receive
        // allocates the bytes at the size they came in, and they become the buffer.
        std::string().swap(storage_);
        head_ = tail_ = 0;
        std::string bytes;
        try {
            bytes = co_await source.receive(want);
        } catch (const end_of_stream&) {
            co_return false;
        }
        storage_ = std::move(bytes);
        tail_ = storage_.size();
        co_return true;
    }
    if (storage_.size() - tail_ < want) {
        const std::size_t kept = size();
        if (storage_.size() - kept >= want) {
            std::memmove(storage_.data(), storage_.data() + head_, kept);
        } else {
            // Grows geometrically (so a large receive_exactly copies each byte O(1) times)
            // but never past `limit`: the caller's max_bytes or count.
            const std::size_t capacity =
                std::min(limit, std::max(kept + want, 2 * storage_.size()));
            std::string grown(capacity, '\0');
            std::memcpy(grown.data(), storage_.data() + head_, kept);
            storage_.swap(grown);
        }
        head_ = 0;
        tail_ = kept;
    }
    std::size_t n = 0;
    try {
        n = co_await source.receive_into(std::span<char>(storage_.data() + tail_, want));
    } catch (const end_of_stream&) {
        co_return false;
    }
    tail_ += n;
    co_return true;
}

std::string receive_buffer::take(std::size_t count) {
    std::string bytes(storage_.data() + head_, count);
    head_ += count;
    return bytes;
}

task<std::string> receive_buffer::receive_until(abc::byte_receive_stream* source,
                                                std::string_view delimiter, std::size_t max_bytes) {
    if (delimiter.empty()) throw std::invalid_argument("anyio: receive_until needs a delimiter");
    if (max_bytes < delimiter.size()) {
        throw std::invalid_argument(
            "anyio: receive_until: max_bytes (" + std::to_string(max_bytes) +
            ") is shorter than the delimiter (" + std::to_string(delimiter.size()) + " bytes)");
    }
    abc::byte_receive_stream& from = open(source, "receive_until");
    const busy_guard busy(receiving_, busy_receiving);
    throw_if_cancelled("receive_until()");
    // Where the next search starts, from head_: bytes before it were searched already.
    // Compacting moves head_ and the bytes together, so it stays right.
    std::size_t scan_from = 0;
    for (;;) {
        // The delimiter must end within the first max_bytes bytes.
        const std::size_t window = std::min(size(), max_bytes);
        if (window >= delimiter.size()) {
            const std::string_view searched(storage_.data() + head_, window);
            const std::size_t at = searched.find(delimiter, scan_from);
            bytes_examined_ += window - scan_from;
            if (at != std::string_view::npos) {
                std::string record = take(at);
                head_ += delimiter.size();
                co_return record;
            }
            // The last delimiter.size() - 1 bytes may be the start of a delimiter whose
            // end has not arrived: searched again, everything before them never.
            scan_from = window - (delimiter.size() - 1);
        }
        if (size() >= max_bytes) throw delimiter_not_found(max_bytes);
        const bool more = co_await fill(from, max_bytes - size(), max_bytes);
        if (!more) {
            if (size() == 0) throw end_of_stream();
            throw incomplete_read(size(), "the delimiter");
        }
    }
}

task<std::string> receive_buffer::receive_exactly(abc::byte_receive_stream* source,
                                                  std::size_t count) {
    abc::byte_receive_stream& from = open(source, "receive_exactly");
    const busy_guard busy(receiving_, busy_receiving);
    throw_if_cancelled("receive_exactly()");
    while (size() < count) {
        const bool more = co_await fill(from, count - size(), count);
        if (!more) {
            if (size() == 0) throw end_of_stream();
            throw incomplete_read(size(), "the " + std::to_string(count) + " bytes asked for");
        }
    }
    co_return take(count);
}

task<std::size_t> receive_buffer::receive_into(abc::byte_receive_stream* source,
                                               std::span<char> buffer) {
    if (buffer.empty()) throw std::invalid_argument("anyio: receive_into needs a non-empty buffer");
    abc::byte_receive_stream& from = open(source, "receive_into");
    const busy_guard busy(receiving_, busy_receiving);
    if (size() == 0) co_return co_await from.receive_into(buffer);
    throw_if_cancelled("receive_into()");
    const std::size_t n = std::min(buffer.size(), size());
    std::memcpy(buffer.data(), storage_.data() + head_, n);
    head_ += n;
    co_return n;
}

task<std::string> receive_buffer::receive(abc::byte_receive_stream* source, std::size_t max_bytes) {
    if (max_bytes == 0) throw std::invalid_argument("anyio: receive needs max_bytes > 0");
    abc::byte_receive_stream& from = open(source, "receive");
    const busy_guard busy(receiving_, busy_receiving);
    if (size() == 0) co_return co_await from.receive(max_bytes);
    throw_if_cancelled("receive()");
    co_return take(std::min(max_bytes, size()));
}

}  // namespace anyio::detail
