#include "streams/utf8.hpp"

#include <cstdio>

namespace anyio::detail {

utf8_sequence next_utf8_sequence(std::string_view bytes) noexcept {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
    const unsigned char lead = byte(0);
    if (lead < 0x80) return {utf8_status::valid, 1};
    std::size_t needed = 0;     // continuation bytes
    unsigned char low = 0x80;   // the second byte's range: it rules out overlong forms,
    unsigned char high = 0xBF;  // surrogates and code points past U+10FFFF
    if (lead >= 0xC2 && lead <= 0xDF) {
        needed = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        needed = 2;
        if (lead == 0xE0) low = 0xA0;
        if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        needed = 3;
        if (lead == 0xF0) low = 0x90;
        if (lead == 0xF4) high = 0x8F;
    } else {
        return {utf8_status::invalid, 1};  // a continuation byte, C0, C1 or F5..FF
    }
    for (std::size_t i = 1; i <= needed; ++i) {
        if (i >= bytes.size()) return {utf8_status::incomplete, i};
        const unsigned char b = byte(i);
        if (b < (i == 1 ? low : 0x80) || b > (i == 1 ? high : 0xBF)) {
            return {utf8_status::invalid, i};
        }
    }
    return {utf8_status::valid, needed + 1};
}

std::string describe_byte(char byte) {
    char text[16];
    std::snprintf(text, sizeof text, "byte 0x%02X", static_cast<unsigned char>(byte));
    return text;
}

}  // namespace anyio::detail
