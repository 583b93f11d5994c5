#pragma once
// OpenSSL's error queue in words. The queue is per thread and every task of a loop shares
// it, so each call into OpenSSL clears it first and its failure is read at once, before
// the task can suspend.

#include <openssl/err.h>

#include <string>

namespace anyio::detail {

// The reason of the earliest error queued (the root cause: later entries say what failed
// because of it), e.g. "certificate verify failed", "wrong version number"; empties the
// queue. "" when it was empty.
inline std::string take_openssl_reason() {
    std::string reason;
    while (const unsigned long code = ERR_get_error()) {
        if (!reason.empty()) continue;
        if (const char* text = ERR_reason_error_string(code)) {
            reason = text;
        } else {
            char buffer[256];
            ERR_error_string_n(code, buffer, sizeof buffer);
            reason = buffer;
        }
    }
    return reason;
}

}  // namespace anyio::detail
