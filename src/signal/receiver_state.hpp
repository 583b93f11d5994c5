#pragma once
// One open signal receiver, as its loop sees it.

#include <anyio/signals.hpp>

#include <bitset>
#include <csignal>
#include <vector>

namespace anyio::detail {

class loop;
class signal_dispatcher;

struct receiver_state {
    struct pending_entry {
        int signo;
        unsigned long long count;  // occurrences merged into this entry (a lower bound)
    };

    loop* owner = nullptr;
    signal_dispatcher* dispatcher = nullptr;
    std::vector<int> signals;   // distinct, as subscribed
    std::bitset<_NSIG> wanted;  // the same, for lookup
    // First-arrival order, at most one entry per signal: capacity is reserved at open, so
    // delivery never allocates and a storm costs no memory.
    std::vector<pending_entry> pending;
    receive_awaiter* waiter = nullptr;  // the receive() in progress, if any
    bool open = true;

    void deliver(int signo, unsigned long long count) noexcept;
    void close() noexcept;
};

}  // namespace anyio::detail
