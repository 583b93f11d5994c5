// Seed program 1: reload the configuration on SIGHUP, return on SIGTERM.
//
//   build/release/examples/receive_signals &
//   kill -HUP %1    # prints "Reloading configuration"
//   kill -TERM %1   # returns; exit status 0

#include <anyio/anyio.hpp>

#include <csignal>
#include <cstdio>

anyio::task<> main_task() {
    auto signals = anyio::open_signal_receiver(SIGTERM, SIGHUP);
    std::puts("ready");  // the receiver is open: signals sent from now on are received
    std::fflush(stdout);
    for (;;) {
        const int signum = co_await signals.receive();
        if (signum == SIGTERM) co_return;
        if (signum == SIGHUP) {
            std::puts("Reloading configuration");
            std::fflush(stdout);
        }
    }
}

int main() {
    anyio::run(main_task);
}
