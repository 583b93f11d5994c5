#pragma once
// How other threads and signal handlers get a loop's attention.
//
// notify() sets `pending` and writes the eventfd only if the loop is blocked (or about to
// block) in poll: while the loop runs tasks it sees `pending` at the end of the batch
// without any system call. Dekker pair: the loop stores `polling` then loads `pending`;
// notify() stores `pending` then loads `polling`; with seq_cst at least one side sees the
// other, so a notification is never left sleeping. Async-signal-safe.

#include <atomic>
#include <cstdint>

#include <unistd.h>

namespace anyio::detail {

struct wakeup {
    std::atomic<bool> pending{false};
    std::atomic<bool> polling{false};
    int fd = -1;  // the loop's eventfd; fixed for the loop's lifetime

    void notify() noexcept {
        pending.store(true);
        if (polling.load()) {
            const std::uint64_t one = 1;
            // EAGAIN: the counter is saturated, so the loop is awake anyway.
            [[maybe_unused]] const ssize_t n = ::write(fd, &one, sizeof one);
        }
    }
};

}  // namespace anyio::detail
