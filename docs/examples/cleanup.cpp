// Cleanup that must await after a cancellation: shields, on_cancelled, the same pattern
// by hand, and why `catch (const std::exception&)` never swallows a cancellation.
#include <anyio/anyio.hpp>

#include <chrono>
#include <cstdio>
#include <stdexcept>

using namespace std::chrono_literals;

anyio::task<> flush_log() {
    co_await anyio::sleep(1ms);  // works inside a shield although the task is cancelled
    std::printf("log flushed\n");
}

anyio::task<> hang_forever() {
    co_await anyio::sleep(1h);
    std::printf("hung up\n");
}

anyio::task<> serve() {
    // A std::exception handler is for errors: `cancelled` is not a std::exception.
    try {
        co_await anyio::sleep_forever();
    } catch (const std::exception& error) {
        std::printf("never printed: %s\n", error.what());
    }
}

anyio::task<> main_task() {
    // on_cancelled: if `serve` is cancelled, run flush_log shielded, then throw
    // `cancelled` on so that the scope that was cancelled catches it.
    auto serve_then_flush = []() -> anyio::task<> {
        co_await anyio::on_cancelled(serve, flush_log);
    };
    bool finished = co_await anyio::move_on_after(5ms, serve_then_flush);
    std::printf("serve finished: %d\n", finished);

    // With a time limit for the cleanup: a cleanup that hangs is cut short after 10 ms
    // (Trio's `with move_on_after(10ms, shield=True)`); `cancelled` still goes on.
    auto bounded = []() -> anyio::task<> {
        co_await anyio::on_cancelled(serve, 10ms, hang_forever);
    };
    co_await anyio::move_on_after(5ms, bounded);
    std::printf("bounded cleanup done\n");

    // The same by hand, for when the cleanup needs what the handler saw: leave the
    // handler first (C++ forbids co_await in it), then await inside a shield.
    auto by_hand = []() -> anyio::task<> {
        bool was_cancelled = false;
        try {
            co_await serve();
        } catch (const anyio::cancelled&) {
            was_cancelled = true;
        }
        if (was_cancelled) {
            co_await anyio::move_on_after(1s, anyio::shield, flush_log);
            throw anyio::cancelled{};  // never swallow it
        }
    };
    co_await anyio::move_on_after(5ms, by_hand);

    // A shielded scope keeps the outer cancellation out; its own deadline still applies.
    anyio::cancel_scope outer;
    auto cancel_then_shield = [&]() -> anyio::task<> {
        outer.cancel();
        co_await anyio::shielded(flush_log);  // runs to its end
        co_await anyio::checkpoint();         // outside the shield: throws
    };
    co_await outer.run(cancel_then_shield);
    std::printf("outer cancelled_caught: %d\n", outer.cancelled_caught());
}

int main() {
    return anyio::run_main(main_task);
}
