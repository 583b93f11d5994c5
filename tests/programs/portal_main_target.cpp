// A program built around a blocking portal with anyio::run_with_portal, for the tests of
// how Ctrl+C and SIGTERM stop it (tests/thread/test_portal_main.cpp). SIGTERM is a
// graceful signal in every mode. It prints "ready" once a signal can stop it, and what its
// main thread then sees; the portal task's cleanup prints "task cleanup".
//
//   portal_main_target wait      main waits in wait_for_stop(), then reads the task's
//                                future and makes one more call, printing their errors
//   portal_main_target call      main is blocked in a portal call when the signal comes
//   portal_main_target stubborn  main ignores the stop and blocks: only a second signal
//                                (the default force_exit policy) ends the program
//   portal_main_target throws    main throws after the stop; it still dies by the signal

#include <anyio/anyio.hpp>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <stdexcept>

using namespace std::chrono_literals;

namespace {

void say(const char* text) {
    std::puts(text);
    std::fflush(stdout);
}

// Sleeps until cancelled; its cleanup is what the tests look for.
anyio::task<> sleep_until_cancelled() {
    try {
        co_await anyio::sleep(1h);
    } catch (const anyio::cancelled&) {
        say("task cleanup");
        throw;
    }
}

anyio::task<> ready_task(anyio::task_status<>& status) {
    status.started();
    co_await sleep_until_cancelled();
}

void print_error(const char* label, const std::exception& e) {
    std::printf("%s: %s\n", label, e.what());
}

int wait_mode(anyio::blocking_portal& portal) {
    auto started = portal.start_task(ready_task);
    say("ready");
    const int signo = portal.wait_for_stop();
    std::printf("stopped by %d, running %d, stop_signal %d\n", signo, portal.running() ? 1 : 0,
                portal.stop_signal());
    try {
        started.future.get();
    } catch (const std::exception& e) {
        print_error("get", e);
    }
    try {
        portal.call([] {});
    } catch (const std::exception& e) {
        print_error("call", e);
    }
    say("main returns");
    return 0;
}

int call_mode(anyio::blocking_portal& portal) {
    try {
        portal.call([]() -> anyio::task<> {
            say("ready");
            co_await sleep_until_cancelled();
        });
    } catch (const std::exception& e) {
        print_error("call", e);
    }
    say("main returns");
    return 0;
}

int stubborn_mode(anyio::blocking_portal& portal) {
    anyio::set_signal_request_window(0ms);  // the test's two Ctrl+Cs come quickly
    say("ready");
    portal.wait_for_stop();
    say("stopping");
    // Blocks for good, in pthread_cond_wait: ThreadSanitizer delivers a signal at once
    // only to a thread blocked in a call it intercepts (std::future's wait is a raw futex).
    std::mutex mutex;
    std::condition_variable never;
    std::unique_lock lock(mutex);
    never.wait(lock, [] { return false; });
    return 0;
}

int throws_mode(anyio::blocking_portal& portal) {
    say("ready");
    portal.wait_for_stop();
    throw std::runtime_error("main failed after the stop");
}

}  // namespace

int main(int argc, char** argv) {
    const char* mode = argc > 1 ? argv[1] : "wait";
    anyio::run_options options;
    options.graceful_signals = {SIGTERM};
    if (std::strcmp(mode, "wait") == 0) return anyio::run_with_portal(options, wait_mode);
    if (std::strcmp(mode, "call") == 0) return anyio::run_with_portal(options, call_mode);
    if (std::strcmp(mode, "stubborn") == 0) return anyio::run_with_portal(options, stubborn_mode);
    if (std::strcmp(mode, "throws") == 0) return anyio::run_with_portal(options, throws_mode);
    std::fprintf(stderr, "portal_main_target: unknown mode %s\n", mode);
    return 2;
}
