#pragma once
// UTF-8 validation (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF),
// one sequence at a time, with the "maximal subpart" rule of Unicode (chapter 3, U+FFFD
// substitution) for how many bytes one replacement character stands for.

#include <cstddef>
#include <string>
#include <string_view>

namespace anyio::detail {

enum class utf8_status {
    valid,       // `length` bytes are one code point
    invalid,     // `length` bytes (1 to 3) are a maximal invalid subpart
    incomplete,  // `length` bytes are a valid start of a sequence that needs more bytes
};

struct utf8_sequence {
    utf8_status status;
    std::size_t length;
};

// The sequence at the start of `bytes` (non-empty).
[[nodiscard]] utf8_sequence next_utf8_sequence(std::string_view bytes) noexcept;

// The replacement character, U+FFFD, in UTF-8.
inline constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

// "byte 0xC3" for error messages.
[[nodiscard]] std::string describe_byte(char byte);

}  // namespace anyio::detail
