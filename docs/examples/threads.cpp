// Threads: to_thread::run_sync with a blocking function, from_thread calls back into the
// loop, check_cancelled in a long loop, abandon_on_cancel, and a blocking portal used from
// a plain main().
#include <anyio/anyio.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

// A blocking function: it would stall the loop if a task called it directly.
int total_size(std::vector<int> sizes) {
    std::this_thread::sleep_for(5ms);
    return std::accumulate(sizes.begin(), sizes.end(), 0);
}

// A task, run on the loop for a worker thread by from_thread::run.
anyio::task<int> double_later(int value) {
    co_await anyio::sleep(1ms);
    co_return 2 * value;
}

// Runs in a worker thread; calls back into the loop that waits for it.
int worker_with_callbacks(anyio::event& done) {
    int doubled = anyio::from_thread::run(double_later, 21);
    anyio::from_thread::run_sync([&done] { done.set(); });  // on the loop's thread
    return doubled;
}

anyio::task<> crunch(std::atomic<int>& chunks_done) {
    co_await anyio::to_thread::run_sync([&chunks_done] {
        for (int chunk = 0; chunk < 1000; ++chunk) {
            anyio::from_thread::check_cancelled();  // reaches the task as `cancelled`
            std::this_thread::sleep_for(1ms);       // process(chunk)
            ++chunks_done;
        }
    });
}

anyio::task<> main_task() {
    std::vector<int> sizes{100, 20, 3};
    int total = co_await anyio::to_thread::run_sync(total_size, sizes);
    std::printf("total size %d\n", total);

    anyio::event done;
    int answer = co_await anyio::to_thread::run_sync(worker_with_callbacks, std::ref(done));
    std::printf("from_thread::run gave %d, event set from the worker: %d\n", answer, done.is_set());

    // A worker's exception reaches the task.
    auto fail = [] { return std::stoi("not a number"); };
    try {
        co_await anyio::to_thread::run_sync(fail);
    } catch (const std::invalid_argument&) {
        std::printf("the worker threw std::invalid_argument\n");
    }

    // Cancellation waits for the function, which stops early by asking check_cancelled.
    std::atomic<int> chunks_done{0};
    auto crunch_all = [&chunks_done]() -> anyio::task<> { co_await crunch(chunks_done); };
    co_await anyio::move_on_after(20ms, crunch_all);
    std::printf("crunch stopped early: %s\n", chunks_done < 1000 ? "yes" : "no");

    // abandon_on_cancel: the task stops waiting at once; the thread runs on, and its
    // check_cancelled() throws worker_cancelled.
    std::promise<std::string> seen;
    std::future<std::string> seen_later = seen.get_future();
    auto stubborn = [&seen] {
        try {
            for (;;) {
                anyio::from_thread::check_cancelled();
                std::this_thread::sleep_for(1ms);
            }
        } catch (const anyio::worker_cancelled& error) {
            seen.set_value(error.what());
            throw;
        }
    };
    anyio::to_thread::run_sync_options abandon;
    abandon.abandon_on_cancel = true;
    auto run_abandoned = [&]() -> anyio::task<> {
        co_await anyio::to_thread::run_sync(abandon, stubborn);
    };
    co_await anyio::move_on_after(10ms, run_abandoned);
    std::printf("abandoned the worker\n");
    auto wait_for_worker = [&seen_later] { return seen_later.get(); };
    std::string what = co_await anyio::to_thread::run_sync(wait_for_worker);
    std::printf("the worker then saw: %s\n", what.c_str());
}

// Tasks for the portal.
anyio::task<int> fetch_count(int base) {
    co_await anyio::sleep(1ms);
    co_return base + 1;
}

anyio::task<> serve_forever() {
    co_await anyio::sleep_forever();
}

anyio::task<> serve_on_free_port(anyio::task_status<int>& status) {
    status.started(8080);  // a real server would report the port it bound
    co_await anyio::sleep_forever();
}

const char* reason_name(anyio::portal_cancel_reason reason) {
    switch (reason) {
        case anyio::portal_cancel_reason::future_cancelled:
            return "future_cancelled";
        case anyio::portal_cancel_reason::portal_stopped:
            return "portal_stopped";
        case anyio::portal_cancel_reason::signal:
            return "signal";
        case anyio::portal_cancel_reason::task:
            return "task";
    }
    return "?";
}

int main() {
    anyio::run(main_task);

    // from_thread belongs to worker threads of to_thread::run_sync.
    try {
        anyio::from_thread::check_cancelled();
    } catch (const std::logic_error&) {
        std::printf("check_cancelled in main(): std::logic_error\n");
    }

    anyio::blocking_portal portal = anyio::start_blocking_portal();
    int n = portal.call(fetch_count, 41);  // runs the task, waits
    anyio::portal_future<void> job = portal.start_task_soon(serve_forever);
    auto [server, port] = portal.start_task(serve_on_free_port);  // waits for started(port)
    job.cancel();
    std::printf("call gave %d; started on port %d\n", n, port);
    try {
        job.get();
    } catch (const anyio::portal_call_cancelled& error) {
        std::printf("job: %s: %s\n", reason_name(error.reason()), error.what());
    }

    portal.stop(true);  // cancels what still runs, ends the loop, joins its thread
    try {
        server.get();
    } catch (const anyio::portal_call_cancelled& error) {
        std::printf("server: %s\n", reason_name(error.reason()));
    }
    try {
        portal.call(fetch_count, 1);
    } catch (const anyio::closed_resource_error& error) {
        std::printf("after stop: %s\n", error.what());
    }
}
