// What service notifications cost: a notify_* call without a manager (the no-op every
// program pays), one sent to a real socket, and what the watchdog task takes from a loop.
//
//   build/release/bench/service_notify --benchmark_repetitions=5
//       --benchmark_report_aggregates_only   (one command line)

#include <anyio/anyio.hpp>

#include <benchmark/benchmark.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

// The manager's end: an abstract datagram socket with SO_PASSCRED (as systemd's, so the
// kernel attaches the sender's credentials) and a thread that reads everything sent to it.
class draining_manager {
public:
    draining_manager() {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        const int on = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
        address_ = "@anyio-bench-notify-" + std::to_string(::getpid());
        sockaddr_un name{};
        name.sun_family = AF_UNIX;
        address_.copy(name.sun_path + 1, address_.size() - 1, 1);
        if (::bind(fd_, reinterpret_cast<const sockaddr*>(&name),
                   static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size())) !=
            0) {
            std::abort();
        }
        ::setenv("NOTIFY_SOCKET", address_.c_str(), 1);
        reader_ = std::thread([this] { drain(); });
    }
    draining_manager(const draining_manager&) = delete;
    draining_manager& operator=(const draining_manager&) = delete;
    ~draining_manager() {
        stop_.store(true);
        reader_.join();
        ::unsetenv("NOTIFY_SOCKET");
        ::close(fd_);
    }
    [[nodiscard]] long received() const { return received_.load(); }

private:
    void drain() {
        char buffer[4096];
        while (!stop_.load()) {
            pollfd ready{fd_, POLLIN, 0};
            if (::poll(&ready, 1, 10) <= 0) continue;
            if (::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT) > 0) received_.fetch_add(1);
        }
    }

    int fd_ = -1;
    std::string address_;
    std::atomic<bool> stop_{false};
    std::atomic<long> received_{0};
    std::thread reader_;
};

// Not started by a manager: what every notify call costs a program run by hand.
void bm_notify_status_without_manager(benchmark::State& state) {
    ::unsetenv("NOTIFY_SOCKET");
    for (auto _ : state)
        benchmark::DoNotOptimize(anyio::notify_status("serving 12 connections"));
}
BENCHMARK(bm_notify_status_without_manager);

// One datagram to a manager that keeps reading. Its queue is short (net.unix.max_dgram_qlen,
// often 10), so a sender faster than the reader meets a full queue: counted, then retried.
void bm_notify_status_sent(benchmark::State& state) {
    const draining_manager manager;
    long full = 0;
    for (auto _ : state) {
        for (;;) {
            try {
                benchmark::DoNotOptimize(anyio::notify_status("serving 12 connections"));
                break;
            } catch (const anyio::service_notify_error& e) {
                if (e.code().value() != EAGAIN) throw;
                ++full;
            }
        }
    }
    state.counters["full_queue_per_op"] =
        benchmark::Counter(static_cast<double>(full), benchmark::Counter::kAvgIterations);
}
BENCHMARK(bm_notify_status_sent);

// checkpoint() throughput on a loop, alone or next to a watchdog pinging every
// state.range(0) / 2 microseconds: the watchdog's share of the loop.
void bm_checkpoint_with_watchdog(benchmark::State& state) {
    const draining_manager manager;
    const long usec = state.range(0);
    if (usec > 0) {
        ::setenv("WATCHDOG_USEC", std::to_string(usec).c_str(), 1);
    } else {
        ::unsetenv("WATCHDOG_USEC");
    }
    ::unsetenv("WATCHDOG_PID");
    const long before = manager.received();
    anyio::run([&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& group) -> anyio::task<> {
            group.start_soon(anyio::run_watchdog);
            for (auto _ : state)
                co_await anyio::checkpoint();
            group.cancel_scope().cancel();
        });
    });
    ::unsetenv("WATCHDOG_USEC");
    state.counters["pings"] = benchmark::Counter(static_cast<double>(manager.received() - before),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(bm_checkpoint_with_watchdog)->Arg(0)->Arg(1000)->Arg(20000);

// The same next to a task that only sleeps (an hour): how much of the watchdog's share is
// that of any pending timer, not of its pings.
void bm_checkpoint_next_to_a_sleeper(benchmark::State& state) {
    anyio::run([&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& group) -> anyio::task<> {
            group.start_soon(
                []() -> anyio::task<> { co_await anyio::sleep(std::chrono::hours(1)); });
            for (auto _ : state)
                co_await anyio::checkpoint();
            group.cancel_scope().cancel();
        });
    });
}
BENCHMARK(bm_checkpoint_next_to_a_sleeper);

}  // namespace

BENCHMARK_MAIN();
