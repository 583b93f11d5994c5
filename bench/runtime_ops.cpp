// The four core operations of ../shared/bench/runtime (yield, spawn_join, cancel_sleepers,
// event_pingpong), written with anyio's public API as a user would, printing the harness's
// RESULT line. Usage: runtime_ops OP N
//
// One more op, not the harness's: throw_catch, the floor under cancel_sleepers' exception
// delivery (N plain throws and catches of `cancelled` in one coroutine frame, in this binary).
//
// One scheduler thread (anyio::run on main), epoll live (every loop has it), -O2.

#include <anyio/anyio.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>

#include <sys/resource.h>

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

long rss_kb() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "runtime_ops: check failed: %s\n", what);
    std::exit(1);
}

struct measurement {
    double total_ns = 0;
    long rss_start = 0;
    std::string extra;
};

anyio::task<measurement> op_yield(long n) {
    for (int i = 0; i < 1000; ++i)
        co_await anyio::checkpoint();
    measurement m;
    m.rss_start = rss_kb();
    const auto t0 = steady::now();
    for (long i = 0; i < n; ++i)
        co_await anyio::checkpoint();
    m.total_ns = std::chrono::duration<double, std::nano>(steady::now() - t0).count();
    co_return m;
}

anyio::task<> count_one(long* counter) {
    ++*counter;
    co_return;
}

anyio::task<measurement> op_spawn_join(long n) {
    long counter = 0;
    measurement m;
    m.rss_start = rss_kb();
    const auto t0 = steady::now();
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        for (long i = 0; i < n; ++i)
            tg.start_soon(count_one, &counter);
        co_return;
    });
    m.total_ns = std::chrono::duration<double, std::nano>(steady::now() - t0).count();
    if (counter != n) fail("every spawned task ran");
    co_return m;
}

struct sleepers_state {
    long asleep = 0;
    long cancelled = 0;
    long woke = 0;
    long n = 0;
    anyio::event all_asleep;
};

anyio::task<> sleeper(sleepers_state* s) {
    // Counts how the task ended without catching: unwinding by `cancelled` runs the
    // destructor with an exception in flight.
    struct ending {
        sleepers_state* s;
        ~ending() {
            if (std::uncaught_exceptions() > 0) ++s->cancelled;
        }
    } guard{s};
    if (++s->asleep == s->n) s->all_asleep.set();
    co_await anyio::sleep(1h);
    ++s->woke;
}

// The same sleeper with error-code style cancellation (anyio::unless_cancelled): the task
// learns of the cancel as a value and returns; no C++ exception is thrown.
anyio::task<> sleeper_ec(sleepers_state* s) {
    if (++s->asleep == s->n) s->all_asleep.set();
    // Not `if (co_await ...)`: g++ 12 miscompiles a co_await in an if condition whose
    // awaiter is a temporary here (it emits a trap).
    const bool slept = co_await anyio::unless_cancelled(anyio::sleep(1h));
    if (slept) {
        ++s->woke;
    } else {
        ++s->cancelled;
    }
}

bool error_code_cancel = false;

anyio::task<measurement> op_cancel_sleepers(long n) {
    sleepers_state s;
    s.n = n;
    measurement m;
    m.rss_start = rss_kb();
    const auto setup0 = steady::now();
    steady::time_point t0;
    long rss_asleep = 0;
    double setup_ms = 0;
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        for (long i = 0; i < n; ++i)
            tg.start_soon(error_code_cancel ? sleeper_ec : sleeper, &s);
        co_await s.all_asleep.wait();
        co_await anyio::checkpoint();  // the last sleeper reaches its sleep
        setup_ms = std::chrono::duration<double, std::milli>(steady::now() - setup0).count();
        rss_asleep = rss_kb();
        t0 = steady::now();
        tg.cancel_scope().cancel();
    });
    m.total_ns = std::chrono::duration<double, std::nano>(steady::now() - t0).count();
    if (s.cancelled != n || s.woke != 0) fail("every sleeper ended by cancellation");
    char buf[160];
    std::snprintf(buf, sizeof buf, " setup_ms=%.1f rss_asleep_kb=%ld cancel_delivery=%s", setup_ms,
                  rss_asleep, error_code_cancel ? "error_code" : "exception");
    m.extra = buf;
    co_return m;
}

// `cancelled` thrown and caught in the same coroutine frame, as a cancelled sleep throws it
// (inline in await_resume) and its coroutine catches it: no task, scope or scheduler work.
anyio::task<measurement> op_throw_catch(long n) {
    volatile bool cancel = true;  // keeps the throw opaque to the optimizer
    long caught = 0;
    measurement m;
    m.rss_start = rss_kb();
    const auto t0 = steady::now();
    for (long i = 0; i < n; ++i) {
        try {
            if (cancel) throw anyio::cancelled{};
        } catch (const anyio::cancelled&) {
            ++caught;
        }
    }
    m.total_ns = std::chrono::duration<double, std::nano>(steady::now() - t0).count();
    if (caught != n) fail("every throw was caught");
    co_return m;
}

struct pingpong {
    std::unique_ptr<anyio::event> ping = std::make_unique<anyio::event>();
    std::unique_ptr<anyio::event> pong = std::make_unique<anyio::event>();
};

anyio::task<> ponger(pingpong* p, long n) {
    for (long i = 0; i < n; ++i) {
        co_await p->ping->wait();
        p->ping = std::make_unique<anyio::event>();
        p->pong->set();
    }
}

anyio::task<double> pinger(pingpong* p, long n) {
    const auto t0 = steady::now();
    for (long i = 0; i < n; ++i) {
        p->ping->set();
        co_await p->pong->wait();
        p->pong = std::make_unique<anyio::event>();
    }
    co_return std::chrono::duration<double, std::nano>(steady::now() - t0).count();
}

anyio::task<double> pingpong_round(long n) {
    pingpong p;
    double ns = 0;
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        tg.start_soon(ponger, &p, n);
        co_await anyio::checkpoint();  // the ponger waits first
        ns = co_await pinger(&p, n);
    });
    co_return ns;
}

anyio::task<measurement> op_event_pingpong(long n) {
    co_await pingpong_round(1000);
    measurement m;
    m.rss_start = rss_kb();
    m.total_ns = co_await pingpong_round(n);
    co_return m;
}

anyio::task<measurement> run_op(std::string op, long n) {
    if (op == "yield") co_return co_await op_yield(n);
    if (op == "spawn_join") co_return co_await op_spawn_join(n);
    if (op == "cancel_sleepers") co_return co_await op_cancel_sleepers(n);
    if (op == "event_pingpong") co_return co_await op_event_pingpong(n);
    if (op == "throw_catch") co_return co_await op_throw_catch(n);
    std::fprintf(stderr, "runtime_ops: unknown op %s\n", op.c_str());
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "--ec") == 0) {
        error_code_cancel = true;
        --argc;
        ++argv;
    }
    if (argc < 2) {
        std::fprintf(stderr,
                     "usage: runtime_ops [--ec] "
                     "yield|spawn_join|cancel_sleepers|event_pingpong|throw_catch [N]\n");
        return 2;
    }
    const std::string op = argv[1];
    const long n = argc > 2 ? std::atol(argv[2]) : (op == "yield" ? 1'000'000 : 100'000);
    const measurement m = anyio::run(run_op, op, n);
    std::printf(
        "RESULT runtime=anyio_cpp op=%s n=%ld ns_per_op=%.1f total_ms=%.3f rss_kb=%ld "
        "rss_start_kb=%ld%s impl=anyio-cpp-0.1/g++-%d.%d\n",
        op.c_str(), n, m.total_ns / static_cast<double>(n), m.total_ns / 1e6, rss_kb(), m.rss_start,
        m.extra.c_str(), __GNUC__, __GNUC_MINOR__);
    return 0;
}
