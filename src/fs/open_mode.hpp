#pragma once
// Python's (and fopen's) mode strings, turned into open(2) flags.

#include <string_view>

namespace anyio::detail {

struct open_mode {
    int flags = 0;  // O_RDONLY etc. | O_CREAT ... | O_CLOEXEC
    bool readable = false;
    bool writable = false;
};

// Throws std::invalid_argument naming the mode and what is wrong with it.
[[nodiscard]] open_mode parse_open_mode(std::string_view mode);

}  // namespace anyio::detail
