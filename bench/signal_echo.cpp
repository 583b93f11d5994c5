// The target of ../shared/bench/signals: receives SIGUSR1 through open_signal_receiver and
// echoes SIGUSR2 to the parent from task code; returns 0 on SIGTERM received the same way.

#include <anyio/anyio.hpp>

#include <csignal>

#include <unistd.h>

anyio::task<int> echo() {
    auto signals = anyio::open_signal_receiver(SIGUSR1, SIGTERM);
    const pid_t driver = ::getppid();
    ::kill(driver, SIGUSR2);  // ready: the receiver is installed
    for (;;) {
        const int signum = co_await signals.receive();
        if (signum == SIGUSR1) ::kill(driver, SIGUSR2);
        if (signum == SIGTERM) co_return 0;
    }
}

int main() {
    return anyio::run(echo);
}
