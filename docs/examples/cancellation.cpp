// Cancel scopes: timeouts that move on or fail, a scope cancelled by another task,
// level-triggered cancellation, deadlines seen from inside, and cheap checks in a busy loop.
#include <anyio/anyio.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>

using namespace std::chrono_literals;

anyio::task<int> slow_answer() {
    co_await anyio::sleep(1h);
    co_return 42;
}

anyio::task<> cancel_later(anyio::cancel_scope& scope) {
    co_await anyio::sleep(5ms);
    scope.cancel();
}

anyio::task<> main_task() {
    // move_on_after: give up quietly. A body returning T gives std::optional<T>.
    std::optional<int> answer = co_await anyio::move_on_after(10ms, slow_answer);
    std::printf("answer in time: %s\n", answer ? "yes" : "no");

    // fail_after: give up with anyio::timeout_error.
    try {
        co_await anyio::fail_after(10ms, slow_answer);
    } catch (const anyio::timeout_error& error) {
        std::printf("fail_after: %s\n", error.what());
    }

    // A scope that another task cancels. A void body gives bool: true if it finished.
    anyio::cancel_scope scope;
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        tg.start_soon(cancel_later, std::ref(scope));
        auto wait_forever = []() -> anyio::task<> { co_await anyio::sleep_forever(); };
        bool finished = co_await scope.run(wait_forever);
        std::printf("finished: %d, cancel_called: %d, cancelled_caught: %d\n", finished,
                    scope.cancel_called(), scope.cancelled_caught());
    });

    // Level-triggered: swallowing `cancelled` inside the scope does not end the
    // cancellation; the next checkpoint throws again, until the code leaves the scope.
    auto stubborn = [](anyio::cancel_scope& self) -> anyio::task<> {
        self.cancel();
        try {
            co_await anyio::checkpoint();
        } catch (const anyio::cancelled&) {
            std::printf("swallowed one cancelled\n");
        }
        co_await anyio::checkpoint();  // throws again
        std::printf("never printed\n");
    };
    anyio::cancel_scope level;
    co_await level.run(stubborn);
    std::printf("left the scope: cancelled_caught %d\n", level.cancelled_caught());

    // The deadline a task is under, for sizing a blocking call or passing it on.
    auto show_deadline = []() -> anyio::task<> {
        auto left = anyio::current_effective_deadline() - anyio::current_time();
        std::printf("deadline within 1 s: %s\n", left <= 1s ? "yes" : "no");
        co_return;
    };
    co_await anyio::move_on_after(1s, show_deadline);
    std::printf(
        "no deadline outside: %s\n",
        anyio::current_effective_deadline() == anyio::clock::time_point::max() ? "yes" : "no");

    // A busy loop that stays cancellable: checkpoint_if_cancelled never yields, so it
    // costs a few pointer reads; a checkpoint() now and then lets the others run. Here the
    // loop cancels its own scope at step 5000 and stops at the very next check.
    long steps = 0;
    anyio::cancel_scope busy_scope;
    auto busy = [&]() -> anyio::task<> {
        for (;;) {
            co_await anyio::checkpoint_if_cancelled();
            if (++steps == 5000) busy_scope.cancel();
            if (steps % 1000 == 0) co_await anyio::checkpoint();
        }
    };
    co_await busy_scope.run(busy);
    std::printf("busy loop stopped: %s\n", steps == 5000 ? "yes" : "no");

    // unless_cancelled: cancellation as a value instead of an exception.
    auto quiet = []() -> anyio::task<> {
        bool slept = co_await anyio::unless_cancelled(anyio::sleep(1h));
        std::printf("slept: %d (the scope stays cancelled: return now)\n", slept);
    };
    co_await anyio::move_on_after(5ms, quiet);
}

int main() {
    return anyio::run_main(main_task);
}
