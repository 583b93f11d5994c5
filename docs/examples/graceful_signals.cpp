// SIGTERM handled like Ctrl+C: the whole task tree is cancelled, every cleanup runs,
// then the process dies by SIGTERM (a parent sees WTERMSIG == SIGTERM, a shell 143).
#include <anyio/anyio.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>

#include <unistd.h>

using namespace std::chrono_literals;

anyio::task<> worker(int id) {
    auto work = []() -> anyio::task<> { co_await anyio::sleep_forever(); };
    auto clean_up = [id]() -> anyio::task<> {
        co_await anyio::sleep(1ms);
        std::printf("worker %d cleaned up\n", id);
    };
    co_await anyio::on_cancelled(work, clean_up);
}

anyio::task<> main_task() {
    co_await anyio::with_task_group([](anyio::task_group& tg) -> anyio::task<> {
        tg.start_soon(worker, 1);
        tg.start_soon(worker, 2);
        co_await anyio::sleep(1ms);
        std::printf("sending SIGTERM to myself\n");
        std::fflush(stdout);
        kill(getpid(), SIGTERM);  // as `kill PID` or systemd would
        co_await anyio::sleep_forever();
    });
}

int main() {
    anyio::run_options options;
    options.graceful_signals = {SIGTERM};
    // A second SIGTERM (or Ctrl+C) during the cleanup: wait for it (a third one forces
    // the exit). The default, force_exit, ends the process at once.
    options.on_second_interrupt = anyio::second_interrupt::defer;
    return anyio::run_main(options, main_task);
}
