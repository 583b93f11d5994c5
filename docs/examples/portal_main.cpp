// run_with_portal: a plain main() doing blocking work while a task runs in the portal.
// Ctrl+C or SIGTERM would stop the portal (the task's cleanup runs) and end the process
// by that signal; here main's work ends first, and the portal is stopped on the way out.
#include <anyio/anyio.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>

// Prints when the task ends, however it ends.
struct say_when_done {
    say_when_done() = default;
    say_when_done(const say_when_done&) = delete;
    say_when_done& operator=(const say_when_done&) = delete;
    ~say_when_done() { std::printf("ticker cleaned up\n"); }
};

anyio::task<> tick(anyio::task_status<int>& status, int& ticks) {
    say_when_done cleanup;
    status.started(ticks);
    for (;;) {
        co_await anyio::sleep(std::chrono::milliseconds(1));
        ++ticks;
    }
}

int main() {
    anyio::run_options options;
    options.graceful_signals = {SIGTERM};
    return anyio::run_with_portal(options, [](anyio::blocking_portal& portal) {
        int ticks = 0;  // the portal's tasks own it: main reads it through portal.call
        auto [ticker, first] = portal.start_task(tick, std::ref(ticks));
        std::printf("ticker started at %d\n", first);
        int seen = 0;
        while (seen < 3 && !portal.wait_for_stop_for(std::chrono::milliseconds(5)))
            seen = portal.call([&ticks] { return ticks; });  // blocking work of main's own
        std::printf("main saw %s\n", seen >= 3 ? "3 ticks or more" : "a signal");
        return 0;
    });  // stops the portal: the ticker is cancelled and cleans up
}
