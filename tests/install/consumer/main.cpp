#include <anyio/anyio.hpp>

#include <csignal>

anyio::task<int> main_task() {
    auto signals = anyio::open_signal_receiver(SIGUSR1);
    ::raise(SIGUSR1);
    co_return co_await signals.receive() == SIGUSR1 ? 0 : 1;
}

int main() {
    return anyio::run(main_task);
}
