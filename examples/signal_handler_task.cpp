// Seed program 2: a signal-handler task cancels the application's scope on Ctrl+C or
// SIGTERM, and every task unwinds through its cleanup.
//
//   build/release/examples/signal_handler_task &
//   kill -INT %1    # "Ctrl+C pressed!", both workers clean up, exit status 0

#include <anyio/anyio.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>

using namespace std::chrono_literals;

anyio::task<> signal_handler(anyio::cancel_scope& scope) {
    auto signals = anyio::open_signal_receiver(SIGINT, SIGTERM);
    std::puts("ready");  // the receiver is open
    std::fflush(stdout);
    const int signum = co_await signals.receive();
    std::puts(signum == SIGINT ? "Ctrl+C pressed!" : "Terminated!");
    std::fflush(stdout);
    scope.cancel();
}

// One tick every 200 ms until cancelled; the cleanup runs whatever ends the loop.
anyio::task<> worker(int n) {
    struct cleanup {
        int n;
        ~cleanup() {
            std::printf("worker %d: cleaned up\n", n);
            std::fflush(stdout);
        }
    } on_exit{n};
    for (int tick = 1;; ++tick) {
        std::printf("worker %d: tick %d\n", n, tick);
        std::fflush(stdout);
        co_await anyio::sleep(200ms);
    }
}

anyio::task<> run_the_application() {
    co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
        tg.start_soon(worker, 1);
        tg.start_soon(worker, 2);
        co_return;
    });
}

anyio::task<> main_task() {
    co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
        tg.start_soon(signal_handler, std::ref(tg.cancel_scope()));
        co_await run_the_application();
    });
}

int main() {
    anyio::run(main_task);
}
