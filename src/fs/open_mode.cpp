#include "fs/open_mode.hpp"

#include <stdexcept>
#include <string>

#include <fcntl.h>

namespace anyio::detail {

open_mode parse_open_mode(std::string_view mode) {
    const auto invalid = [mode](const char* why) {
        return std::invalid_argument("anyio::open_file: invalid mode \"" + std::string(mode) +
                                     "\": " + why);
    };
    char kind = 0;
    bool plus = false;
    bool binary = false;
    bool text = false;
    for (const char c : mode) {
        switch (c) {
            case 'r':
            case 'w':
            case 'a':
            case 'x':
                if (kind != 0) throw invalid("more than one of r, w, a and x");
                kind = c;
                break;
            case '+':
                if (plus) throw invalid("'+' twice");
                plus = true;
                break;
            case 'b':
                if (binary) throw invalid("'b' twice");
                binary = true;
                break;
            case 't':
                if (text) throw invalid("'t' twice");
                text = true;
                break;
            default:
                throw invalid("unknown character (expected r, w, a, x, +, b, t)");
        }
    }
    if (kind == 0) throw invalid("needs one of r, w, a and x");
    if (binary && text) throw invalid("both binary and text");

    open_mode result;
    result.readable = kind == 'r' || plus;
    result.writable = kind != 'r' || plus;
    result.flags = O_CLOEXEC | (result.readable && result.writable ? O_RDWR
                                : result.writable                  ? O_WRONLY
                                                                   : O_RDONLY);
    if (kind == 'w') result.flags |= O_CREAT | O_TRUNC;
    if (kind == 'a') result.flags |= O_CREAT | O_APPEND;
    if (kind == 'x') result.flags |= O_CREAT | O_EXCL;
    return result;
}

}  // namespace anyio::detail
