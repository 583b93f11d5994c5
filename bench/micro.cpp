// Google Benchmark micro-benchmarks of the hot paths, with heap allocations per operation
// (counted by replacing the global operator new in this program).
//
//   build/release/bench/micro --benchmark_repetitions=5 --benchmark_report_aggregates_only

#include <anyio/anyio.hpp>

#include <sys/socket.h>

#include <benchmark/benchmark.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

namespace {
std::atomic<long> allocations{0};
}  // namespace

void* operator new(std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}

namespace {

// Runs `body(state)` inside anyio::run and reports allocations per iteration.
template <class Body>
void in_loop(benchmark::State& state, Body body) {
    anyio::run([&]() -> anyio::task<> {
        const long before = allocations.load();
        co_await body(state);
        const long after = allocations.load();
        state.counters["allocs_per_op"] = benchmark::Counter(static_cast<double>(after - before),
                                                             benchmark::Counter::kAvgIterations);
    });
}

void bm_checkpoint(benchmark::State& state) {
    in_loop(state, [](benchmark::State& s) -> anyio::task<> {
        for (auto _ : s)
            co_await anyio::checkpoint();
    });
}
BENCHMARK(bm_checkpoint);

// receive() of a signal that is already pending in the receiver.
void bm_receive_pending_signal(benchmark::State& state) {
    in_loop(state, [](benchmark::State& s) -> anyio::task<> {
        auto signals = anyio::open_signal_receiver(SIGUSR1);
        for (auto _ : s) {
            s.PauseTiming();
            ::raise(SIGUSR1);
            co_await anyio::checkpoint();  // the loop wakes and queues it in the receiver
            s.ResumeTiming();
            benchmark::DoNotOptimize(co_await signals.receive());
        }
    });
}
BENCHMARK(bm_receive_pending_signal);

// A full round: raise in the loop thread, wake, dispatch, receive.
void bm_raise_and_receive(benchmark::State& state) {
    in_loop(state, [](benchmark::State& s) -> anyio::task<> {
        auto signals = anyio::open_signal_receiver(SIGUSR1);
        for (auto _ : s) {
            ::raise(SIGUSR1);
            benchmark::DoNotOptimize(co_await signals.receive());
        }
    });
}
BENCHMARK(bm_raise_and_receive);

void bm_cancelled_checkpoint(benchmark::State& state) {
    in_loop(state, [](benchmark::State& s) -> anyio::task<> {
        anyio::cancel_scope scope;
        co_await scope.run([&]() -> anyio::task<> {
            scope.cancel();
            for (auto _ : s) {
                try {
                    co_await anyio::checkpoint();
                } catch (const anyio::cancelled&) {
                    benchmark::ClobberMemory();
                }
            }
        });
    });
}
BENCHMARK(bm_cancelled_checkpoint);

// A call to a worker thread and back: hand-off, wake the worker, post the result, wake.
void bm_to_thread_round_trip(benchmark::State& state) {
    in_loop(state, [](benchmark::State& s) -> anyio::task<> {
        const auto one = [] { return 1; };
        for (auto _ : s)
            benchmark::DoNotOptimize(co_await anyio::to_thread::run_sync(one));
    });
}
BENCHMARK(bm_to_thread_round_trip)->UseRealTime();

// A worker thread calling into its loop and waiting for the answer.
void bm_from_thread_round_trip(benchmark::State& state) {
    in_loop(state, [](benchmark::State& s) -> anyio::task<> {
        const auto calls = [&s] {
            for (auto _ : s)
                benchmark::DoNotOptimize(anyio::from_thread::run_sync([] { return 1; }));
        };
        co_await anyio::to_thread::run_sync(calls);
    });
}
BENCHMARK(bm_from_thread_round_trip)->UseRealTime();

// A plain thread calling a function in a blocking portal's loop.
void bm_portal_call(benchmark::State& state) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    for (auto _ : state)
        benchmark::DoNotOptimize(portal.call([] { return 1; }));
}
BENCHMARK(bm_portal_call)->UseRealTime();

// One byte there and back over a socketpair between two tasks of one loop.
void bm_socketpair_ping_pong(benchmark::State& state) {
    in_loop(state, [](benchmark::State& s) -> anyio::task<> {
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) co_return;
        anyio::byte_stream a = anyio::byte_stream::adopt(fds[0]);
        anyio::byte_stream b = anyio::byte_stream::adopt(fds[1]);
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                char byte[1];
                try {
                    for (;;) {
                        (void)co_await b.receive_into(byte);
                        co_await b.send(std::string_view(byte, 1));
                    }
                } catch (const anyio::end_of_stream&) {
                }
            });
            char byte[1] = {'x'};
            for (auto _ : s) {
                co_await a.send(std::string_view(byte, 1));
                benchmark::DoNotOptimize(co_await a.receive_into(byte));
            }
            co_await a.send_eof();
        });
    });
}
BENCHMARK(bm_socketpair_ping_pong);

// Spawning /bin/true through run_process and reaping it (pipes, pidfd, waitid): mostly
// the kernel's and the program's own start-up.
void bm_run_process_true(benchmark::State& state) {
    in_loop(state, [](benchmark::State& s) -> anyio::task<> {
        const std::vector<std::string> argv = {"/bin/true"};
        for (auto _ : s)
            benchmark::DoNotOptimize((co_await anyio::run_process(argv)).returncode);
    });
}
BENCHMARK(bm_run_process_true)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
