// A program for the tests of how a signal ends a program (tests/signal/test_unix_exit.cpp):
// it prints "ready" once it can be interrupted, then waits; its cleanup prints "cleanup"
// without flushing (the library's exit path must flush). The mode says how main is written.
//
//   interrupt_target run          int main() { anyio::run(main_task); }
//   interrupt_target run_main     int main() { return anyio::run_main(main_task); }
//   interrupt_target catches      main catches keyboard_interrupt, prints "caught", exits 7
//   interrupt_target sigterm      run_options{graceful_signals = {SIGTERM}}, plain run
//   interrupt_target slow_sigterm [WINDOW_MS]
//                                 the same; the cleanup prints "cleaning up", awaits 300 ms
//                                 (shielded), then prints "cleanup done"; WINDOW_MS sets
//                                 anyio::set_signal_request_window
//   interrupt_target sigterm_until_rt [WINDOW_MS]
//                                 the same, but the cleanup ends only when SIGRTMIN+1
//                                 arrives: a test sends SIGTERM then SIGRTMIN+1, and the
//                                 kernel delivers the lower-numbered pending signal first,
//                                 so the cleanup cannot end before SIGTERM was handled
//   interrupt_target portal_call  main blocks in a blocking portal's call
//   interrupt_target portal_run   a blocking portal runs a task while main runs anyio::run

#include <anyio/anyio.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

using namespace std::chrono_literals;

namespace {

struct cleanup_note {
    ~cleanup_note() { std::fputs("cleanup\n", stdout); }
};

void say_ready() {
    std::puts("ready");
    std::fflush(stdout);
}

anyio::task<> wait_forever() {
    const cleanup_note note;
    say_ready();
    co_await anyio::sleep(1h);
}

// `finish` is the cleanup's await: it ends the cleanup.
template <class Finish>
anyio::task<> wait_then_clean_up(Finish finish) {
    std::exception_ptr interrupted;
    say_ready();
    try {
        co_await anyio::sleep(1h);
    } catch (const anyio::cancelled&) {
        interrupted = std::current_exception();
    }
    std::puts("cleaning up");
    std::fflush(stdout);
    // Async cleanup cannot run inside the catch block: it runs shielded after it.
    anyio::cancel_scope shielded(anyio::clock::time_point::max(), true);
    co_await shielded.run(finish);
    std::puts("cleanup done");
    std::fflush(stdout);
    if (interrupted) std::rethrow_exception(interrupted);
}

anyio::task<> wait_then_clean_up_slowly() {
    co_await wait_then_clean_up([]() -> anyio::task<> { co_await anyio::sleep(300ms); });
}

anyio::task<> wait_then_clean_up_until_rt() {
    // Open before "ready": the test's SIGRTMIN+1 cannot come too early.
    auto finish_signal = anyio::open_signal_receiver(SIGRTMIN + 1);
    co_await wait_then_clean_up(
        [&finish_signal]() -> anyio::task<> { co_await finish_signal.receive(); });
}

anyio::run_options graceful_sigterm() {
    anyio::run_options options;
    options.graceful_signals = {SIGTERM};
    return options;
}

}  // namespace

int main(int argc, char** argv) {
    const char* mode = argc > 1 ? argv[1] : "run";
    if (std::strcmp(mode, "run") == 0) {
        anyio::run(wait_forever);
    } else if (std::strcmp(mode, "run_main") == 0) {
        return anyio::run_main(wait_forever);
    } else if (std::strcmp(mode, "catches") == 0) {
        try {
            anyio::run(wait_forever);
        } catch (const anyio::keyboard_interrupt&) {
            std::puts("caught");
            return 7;
        }
    } else if (std::strcmp(mode, "sigterm") == 0) {
        anyio::run(graceful_sigterm(), wait_forever);
    } else if (std::strcmp(mode, "slow_sigterm") == 0) {
        if (argc > 2)
            anyio::set_signal_request_window(std::chrono::milliseconds(std::atoi(argv[2])));
        anyio::run(graceful_sigterm(), wait_then_clean_up_slowly);
    } else if (std::strcmp(mode, "sigterm_until_rt") == 0) {
        if (argc > 2)
            anyio::set_signal_request_window(std::chrono::milliseconds(std::atoi(argv[2])));
        anyio::run(graceful_sigterm(), wait_then_clean_up_until_rt);
    } else if (std::strcmp(mode, "portal_call") == 0) {
        anyio::blocking_portal portal = anyio::start_blocking_portal();
        portal.call(wait_forever);
    } else if (std::strcmp(mode, "portal_run") == 0) {
        anyio::blocking_portal portal = anyio::start_blocking_portal();
        anyio::portal_future<void> background =
            portal.start_task_soon([]() -> anyio::task<> { co_await anyio::sleep(1h); });
        anyio::run(wait_forever);
    } else {
        std::fprintf(stderr, "interrupt_target: unknown mode %s\n", mode);
        return 2;
    }
    return 0;
}
