#pragma once
// One open signal receiver, as its loop sees it.

#include <anyio/signals.hpp>

#include "signal/pending_signals.hpp"

#include <bitset>
#include <csignal>
#include <cstdint>
#include <utility>
#include <vector>

namespace anyio::detail {

class loop;
class signal_dispatcher;

struct receiver_state {
    receiver_state(std::vector<int> distinct_signals, std::size_t realtime_signals,
                   std::size_t queue_capacity)
        : signals(std::move(distinct_signals)),
          pending(signals.size() - realtime_signals, realtime_signals, queue_capacity) {
        for (const int signo : signals)
            wanted.set(static_cast<std::size_t>(signo));
    }

    loop* owner = nullptr;
    std::uint64_t id = 0;              // unique in the process
    unsigned long long opened_at = 0;  // first global occurrence number it gets
    signal_dispatcher* dispatcher = nullptr;
    std::vector<int> signals;   // distinct, as subscribed
    std::bitset<_NSIG> wanted;  // the same, for lookup
    pending_signals pending;
    receive_awaiter_base* waiter = nullptr;  // the receive() in progress, if any
    bool open = true;

    void wake_waiter() noexcept;
    void close() noexcept;
};

}  // namespace anyio::detail
