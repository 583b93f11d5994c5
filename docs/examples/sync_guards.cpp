// Guards: a lock_guard released however its scope ends, released early, returned by a
// helper; try_acquire_guard; unless_cancelled; lock::with; a semaphore_guard and a
// capacity_limiter_guard that end in another task than the one that acquired them.
#include <anyio/anyio.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

anyio::task<> update(anyio::lock& l, std::vector<int>& shared) {
    anyio::lock_guard held = co_await l.acquire_guard();
    shared.push_back(1);
    co_await anyio::checkpoint();  // still held; released however the scope ends
}

anyio::task<> update_then_fail(anyio::lock& l, std::vector<int>& shared) {
    anyio::lock_guard held = co_await l.acquire_guard();
    shared.push_back(2);
    throw std::runtime_error("update failed");
}

// A helper coroutine may return a guard: it moves within the same task.
anyio::task<anyio::lock_guard> take(anyio::lock& l) {
    co_return co_await l.acquire_guard();
}

// A token moved into another task and given back there, when the guard ends.
anyio::task<> use_slot(anyio::semaphore& slots, anyio::semaphore_guard token) {
    std::printf("child holds the token: %d, value %td\n", token.owns(), slots.value());
    co_return;
}

// Ends a guard that another task acquired on behalf of `conn`.
anyio::task<> finish_connection(anyio::capacity_limiter_guard token) {
    token.release();
    co_return;
}

anyio::task<> main_task() {
    anyio::lock l;
    std::vector<int> shared;
    co_await update(l, shared);
    try {
        co_await update_then_fail(l, shared);
    } catch (const std::runtime_error& error) {
        std::printf("%s; locked: %d\n", error.what(), l.locked());
    }

    // release() gives the lock back early; the guard then owns nothing.
    anyio::lock_guard held = co_await take(l);
    std::printf("owns: %d\n", held.owns());
    anyio::lock_guard other = l.try_acquire_guard();  // the lock is taken: an empty guard
    std::printf("try_acquire_guard while held: %s\n", other ? "got it" : "empty");
    held.release();
    std::printf("after release: owns %d, locked %d\n", held.owns(), l.locked());

    // In a cancelled scope the wait yields no guard; unless_cancelled says so as a value.
    auto try_under_deadline = [&l]() -> anyio::task<> {
        std::optional<anyio::lock_guard> maybe =
            co_await anyio::unless_cancelled(l.acquire_guard());
        std::printf("unless_cancelled in a cancelled scope: %s\n", maybe ? "a guard" : "nullopt");
    };
    co_await anyio::move_on_after(0ms, try_under_deadline);

    // lock::with: a guard around a body, yielding the body's result.
    auto count = [&shared]() -> anyio::task<std::size_t> { co_return shared.size(); };
    std::size_t n = co_await l.with(count);
    std::printf("with: %zu updates, locked afterwards: %d\n", n, l.locked());

    // A semaphore token belongs to nobody: the guard may end in another task.
    anyio::semaphore slots(1);
    anyio::capacity_limiter connections(2);
    int conn = 0;  // what the capacity is spent on
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        anyio::semaphore_guard token = co_await slots.acquire_guard();
        tg.start_soon(use_slot, std::ref(slots), std::move(token));
        std::printf("parent owns it after the move: %d\n", token.owns());
        anyio::capacity_limiter_guard borrowed =
            co_await connections.acquire_guard_on_behalf_of(&conn);
        tg.start_soon(finish_connection, std::move(borrowed));
    });
    std::printf("value after the child: %td, connections borrowed: %zu\n", slots.value(),
                connections.borrowed_tokens());
}

int main() {
    anyio::run(main_task);
}
