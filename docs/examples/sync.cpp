// Synchronisation: jobs that borrow a capacity limiter's token on their own behalf and
// wait for an event, a lock around the shared log, a condition, a semaphore, borrowing
// on behalf of an object by hand, and what statistics() reports.
#include <anyio/anyio.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <vector>

struct job {
    int id;
};

// At most three jobs work at once: each borrows a token for itself (`j` lives in the
// coroutine's frame, so its address names the job until it ends).
anyio::task<> run_job(anyio::capacity_limiter& limiter, anyio::event& go, anyio::lock& log_lock,
                      std::vector<int>& log, std::size_t& most_at_once, job j) {
    anyio::capacity_limiter_guard token = co_await limiter.acquire_guard_on_behalf_of(&j);
    most_at_once = std::max(most_at_once, limiter.borrowed_tokens());
    co_await go.wait();  // the work: here, waiting until main says go
    anyio::lock_guard held = co_await log_lock.acquire_guard();
    log.push_back(j.id);
}  // the lock, then the token, are released here

// Waits, holding the lock, until `items` has `n` elements; wait() gives the lock back
// while it waits and takes it again before it returns.
anyio::task<> wait_for_items(anyio::condition& changed, std::vector<int>& items, std::size_t n) {
    anyio::lock_guard held = co_await changed.acquire_guard();
    while (items.size() < n)
        co_await changed.wait();
    std::printf("consumer saw %zu items\n", items.size());
}

anyio::task<> main_task() {
    anyio::capacity_limiter limiter(3);
    anyio::event go;
    anyio::lock log_lock;
    std::vector<int> log;
    std::size_t most_at_once = 0;
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        for (int i = 0; i < 6; ++i) {
            tg.start_soon(run_job, std::ref(limiter), std::ref(go), std::ref(log_lock),
                          std::ref(log), std::ref(most_at_once), job{i});
        }
        // Three hold a token and wait for `go`; three wait for a token.
        while (limiter.statistics().tasks_waiting < 3 || go.statistics().tasks_waiting < 3)
            co_await anyio::checkpoint();
        anyio::capacity_limiter_statistics stats = limiter.statistics();
        std::printf("limiter: %zu of %zu tokens borrowed, %zu borrowers, %zu tasks waiting\n",
                    stats.borrowed_tokens, stats.total_tokens, stats.borrowers.size(),
                    stats.tasks_waiting);
        std::printf("event: %zu tasks waiting\n", go.statistics().tasks_waiting);
        go.set();
    });
    std::printf("%zu jobs logged, at most %zu at once\n", log.size(), most_at_once);

    // A lock: statistics name the owner; a task that holds it cannot take it again with
    // try_acquire (and acquire would wait forever); releasing a lock not held is an error.
    {
        anyio::lock_guard held = co_await log_lock.acquire_guard();
        anyio::lock_statistics stats = log_lock.statistics();
        std::printf("lock: locked %d, owned by this task: %s, try_acquire again: %d\n",
                    stats.locked, stats.owner == anyio::task_id::current() ? "yes" : "no",
                    log_lock.try_acquire());
    }
    try {
        log_lock.release();
    } catch (const std::logic_error&) {
        std::printf("release without holding: std::logic_error\n");
    }

    // A condition: the producer changes `items` holding the lock, then notifies.
    anyio::condition changed;
    std::vector<int> items;
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        tg.start_soon(wait_for_items, std::ref(changed), std::ref(items), std::size_t{3});
        for (int i = 0; i < 3; ++i) {
            anyio::lock_guard held = co_await changed.acquire_guard();
            items.push_back(i);
            changed.notify();
        }
    });

    // A semaphore with a max_value: try_acquire takes a token if one is left; releasing
    // past max_value is an error.
    anyio::semaphore slots(2, 2);
    bool first = slots.try_acquire();
    bool second = slots.try_acquire();
    bool third = slots.try_acquire();
    std::printf("semaphore: %d %d %d, value %td\n", first, second, third, slots.value());
    slots.release();
    slots.release();
    try {
        slots.release();
    } catch (const std::logic_error&) {
        std::printf("release past max_value: std::logic_error\n");
    }

    // Borrowing on behalf of an object by hand: this task waits, `request` holds the
    // token, and any task may give it back.
    anyio::capacity_limiter one(1);
    job request{7};
    job other{8};
    co_await one.acquire_on_behalf_of(&request);      // this task waits; &request holds the token
    bool got = one.try_acquire_on_behalf_of(&other);  // false: no token left
    std::printf("request holds the token: %s; other got one: %d\n",
                one.statistics().borrowers.at(0) == &request ? "yes" : "no", got);
    try {
        co_await one.acquire_on_behalf_of(&request);  // already holds one
    } catch (const std::logic_error&) {
        std::printf("a second token for the same borrower: std::logic_error\n");
    }
    one.release_on_behalf_of(&request);  // from any task
    std::printf("borrowed after release: %zu\n", one.borrowed_tokens());
}

int main() {
    anyio::run(main_task);
}
