#pragma once
// Who sent the latest occurrence of a signal, written by signal handlers on any thread and
// read by the loop, never torn: a seqlock whose writers take turns by compare-and-swap
// (a writer that finds another one mid-write skips; both occurrences are "latest").
// Lock-free and async-signal-safe on both sides.

#include <atomic>
#include <cstdint>

#include <sys/types.h>

namespace anyio::detail::signals {

struct sender {
    pid_t pid = 0;
    uid_t uid = 0;
    int code = 0;
    std::intptr_t value = 0;  // sigval as an integer (sival_int or sival_ptr)
};

class sender_record {
public:
    void write(const sender& s) noexcept {
        unsigned seq = seq_.load();
        // Odd: another writer (a handler on another thread) is mid-write.
        if ((seq & 1U) != 0 || !seq_.compare_exchange_strong(seq, seq + 1)) return;
        pid_.store(s.pid);
        uid_.store(s.uid);
        code_.store(s.code);
        value_.store(s.value);
        seq_.store(seq + 2);
    }

    [[nodiscard]] sender read() const noexcept {
        for (;;) {
            const unsigned before = seq_.load();
            if ((before & 1U) != 0) continue;  // the writer finishes in a few stores
            sender s{pid_.load(), uid_.load(), code_.load(), value_.load()};
            if (seq_.load() == before) return s;
        }
    }

private:
    std::atomic<unsigned> seq_{0};
    std::atomic<pid_t> pid_{0};
    std::atomic<uid_t> uid_{0};
    std::atomic<int> code_{0};
    std::atomic<std::intptr_t> value_{0};
};

}  // namespace anyio::detail::signals
