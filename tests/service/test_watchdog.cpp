// The watchdog: which environment means a watchdog, pings at half the interval to a real
// socket, none when not asked for, and the point of it all: a blocked loop stops them.

#include <anyio/anyio.hpp>

#include "support/child_process.hpp"
#include "support/notify_socket.hpp"
#include "support/run_helpers.hpp"
#include "support/scoped_env.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using anyio_test::notify_socket;
using anyio_test::run_guarded;

using anyio_test::scoped_env;

// The environment a manager gives a service with WatchdogSec=: pings expected every 20 ms.
struct watchdog_env {
    explicit watchdog_env(const notify_socket& manager, const std::string& usec = "20000")
        : notify("NOTIFY_SOCKET", manager.address()),
          interval("WATCHDOG_USEC", usec),
          pid("WATCHDOG_PID", std::to_string(::getpid())) {}
    scoped_env notify;
    scoped_env interval;
    scoped_env pid;
};

constexpr auto interval = 20ms;

// The next WATCHDOG=1, which must come (hang guard) from this process.
void expect_ping(notify_socket& manager) {
    const std::optional<anyio_test::notify_message> ping = manager.receive_containing("WATCHDOG=1");
    ASSERT_TRUE(ping) << "no WATCHDOG=1 arrived";
    EXPECT_EQ(ping->text, "WATCHDOG=1");
    EXPECT_EQ(ping->sender, ::getpid());
}

// A one-byte signal between threads: a pipe read blocks the reader's thread for real.
class pipe_signal {
public:
    pipe_signal() {
        if (::pipe2(fds_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    }
    pipe_signal(const pipe_signal&) = delete;
    pipe_signal& operator=(const pipe_signal&) = delete;
    ~pipe_signal() {
        ::close(fds_[0]);
        ::close(fds_[1]);
    }
    void post() const {
        const char byte = 1;
        while (::write(fds_[1], &byte, 1) < 0 && errno == EINTR) {
        }
    }
    // Blocks until posted; false if the hang guard passed first.
    [[nodiscard]] bool wait(std::chrono::milliseconds hang_guard = 30s) const {
        pollfd ready{fds_[0], POLLIN, 0};
        int polled = 0;
        do {
            polled = ::poll(&ready, 1, static_cast<int>(hang_guard.count()));
        } while (polled < 0 && errno == EINTR);
        if (polled <= 0) return false;
        char byte = 0;
        return ::read(fds_[0], &byte, 1) == 1;
    }

private:
    int fds_[2] = {-1, -1};
};

TEST(Watchdog, IntervalFromTheEnvironment) {
    const scoped_env pid("WATCHDOG_PID", std::nullopt);
    {
        const scoped_env usec("WATCHDOG_USEC", std::nullopt);
        EXPECT_FALSE(anyio::watchdog_interval());
    }
    {
        const scoped_env usec("WATCHDOG_USEC", "20000");
        EXPECT_EQ(anyio::watchdog_interval(), std::chrono::microseconds(20000));
        const scoped_env ours("WATCHDOG_PID", std::to_string(::getpid()));
        EXPECT_EQ(anyio::watchdog_interval(), std::chrono::microseconds(20000));
    }
    {
        const scoped_env usec("WATCHDOG_USEC", "9223372036854775807");  // the largest
        EXPECT_EQ(anyio::watchdog_interval(), std::chrono::microseconds::max());
    }
}

// Anything but a positive decimal number, or a pid that is not ours, means no watchdog.
TEST(Watchdog, MalformedOrForeignValuesMeanNoWatchdog) {
    {
        const scoped_env pid("WATCHDOG_PID", std::nullopt);
        for (const char* usec : {"", "0", "-5", "+5", " 5", "5 ", "5x", "20ms", "abc", "0x10",
                                 "1.5", "9223372036854775808", "99999999999999999999999"}) {
            const scoped_env env("WATCHDOG_USEC", usec);
            EXPECT_FALSE(anyio::watchdog_interval()) << "WATCHDOG_USEC=\"" << usec << "\"";
        }
    }
    const scoped_env usec("WATCHDOG_USEC", "20000");
    const std::string ours = std::to_string(::getpid());
    for (const std::string& pid :
         {std::to_string(::getppid()), std::string(""), std::string("abc"), std::string("-1"),
          std::string("0"), ours + "x", " " + ours, "+" + ours}) {
        const scoped_env env("WATCHDOG_PID", pid);
        EXPECT_FALSE(anyio::watchdog_interval()) << "WATCHDOG_PID=\"" << pid << "\"";
    }
}

// No watchdog asked for (or nowhere to send the pings): run_watchdog returns at once.
TEST(Watchdog, ReturnsAtOnceWithoutAWatchdog) {
    notify_socket manager;
    const auto expect_returns_at_once = [&](const std::optional<std::string>& notify,
                                            const std::optional<std::string>& usec,
                                            const std::optional<std::string>& pid) {
        const scoped_env notify_env("NOTIFY_SOCKET", notify);
        const scoped_env usec_env("WATCHDOG_USEC", usec);
        const scoped_env pid_env("WATCHDOG_PID", pid);
        bool finished = false;
        run_guarded([&]() -> anyio::task<> {
            // A generous hang guard: returning at all is what counts.
            finished = co_await anyio::move_on_after(
                30s, []() -> anyio::task<> { co_await anyio::run_watchdog(); });
        });
        EXPECT_TRUE(finished);
        const std::optional<anyio_test::notify_message> sent = manager.receive(0ms);
        EXPECT_FALSE(sent) << "unexpected message: " << sent->text;
    };
    expect_returns_at_once(manager.address(), std::nullopt, std::nullopt);
    expect_returns_at_once(std::nullopt, "20000", std::nullopt);
    expect_returns_at_once("", "20000", std::nullopt);
    expect_returns_at_once(manager.address(), "20ms", std::nullopt);
    expect_returns_at_once(manager.address(), "20000", std::to_string(::getppid()));
}

// Pings keep coming, and no faster than every half interval (the task sleeps between them).
TEST(Watchdog, PingsArriveRepeatedly) {
    notify_socket manager;
    const watchdog_env env(manager);
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& group) -> anyio::task<> {
            const auto started = std::chrono::steady_clock::now();
            group.start_soon(anyio::run_watchdog);
            co_await anyio::to_thread::run_sync([&] {
                for (int i = 0; i < 5; ++i)
                    expect_ping(manager);
            });
            // Ping k leaves no earlier than (k - 1) half intervals after the start.
            EXPECT_GE(std::chrono::steady_clock::now() - started, 4 * (interval / 2));
            group.cancel_scope().cancel();
        });
    });
}

// The task reads the environment when it starts: a program that then unsets it (to keep
// it from its children) still has a watchdog.
TEST(Watchdog, KeepsTheEnvironmentItStartedWith) {
    notify_socket manager;
    const watchdog_env env(manager);
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& group) -> anyio::task<> {
            group.start_soon(anyio::run_watchdog);
            co_await anyio::to_thread::run_sync([&] { expect_ping(manager); });
            ::unsetenv("NOTIFY_SOCKET");
            ::unsetenv("WATCHDOG_USEC");
            ::unsetenv("WATCHDOG_PID");
            co_await anyio::to_thread::run_sync([&] {
                expect_ping(manager);
                expect_ping(manager);
            });
            group.cancel_scope().cancel();
        });
    });
}

// The manager went away: the ping's error ends the task, so the service learns of it.
TEST(Watchdog, FailedPingThrows) {
    for (const bool abstract : {false, true}) {
        notify_socket manager(abstract);
        const watchdog_env env(manager);
        manager.close();
        run_guarded([&]() -> anyio::task<> {
            try {
                co_await anyio::run_watchdog();
                ADD_FAILURE() << "run_watchdog returned";
            } catch (const anyio::service_notify_error& e) {
                EXPECT_TRUE(e.code().value() == ECONNREFUSED || e.code().value() == ENOENT)
                    << e.what();
            }
        });
    }
}

// A full queue (a busy manager) skips a ping rather than ending the service. In a child,
// so that a ping that blocked would fail by the hang guard.
TEST(Watchdog, FullQueueSkipsAPingInsteadOfFailing) {
    const anyio_test::exit_status status = anyio_test::run_in_child(
        [] {
            notify_socket manager;
            const watchdog_env env(manager);
            int fillers = 0;
            try {
                for (; fillers < 100000; ++fillers)
                    anyio::notify_status("filler");
            } catch (const anyio::service_notify_error& e) {
                ASSERT_EQ(e.code().value(), EAGAIN) << e.what();
            }
            ASSERT_GT(fillers, 0);
            ASSERT_LT(fillers, 100000) << "the queue never filled";
            run_guarded([&]() -> anyio::task<> {
                co_await anyio::with_task_group([&](anyio::task_group& group) -> anyio::task<> {
                    group.start_soon(anyio::run_watchdog);
                    co_await anyio_test::settle();  // its first ping met the full queue
                    co_await anyio::to_thread::run_sync([&] {
                        int drained = 0;
                        while (const std::optional<anyio_test::notify_message> queued =
                                   manager.receive(0ms)) {
                            EXPECT_EQ(queued->text, "STATUS=filler");
                            ++drained;
                        }
                        EXPECT_EQ(drained, fillers);
                        expect_ping(manager);
                    });
                    group.cancel_scope().cancel();
                });
            });
        },
        std::chrono::seconds(60));
    EXPECT_TRUE(status.ok()) << status.describe();
}

// The point of a watchdog: while the loop thread is stuck, no ping goes out. A loop task
// posts a mark and then blocks the loop thread in read(); once the mark is seen, every ping
// sent before it is already queued, so after draining them none may arrive until the loop
// is released, after which they resume.
TEST(Watchdog, ABlockedLoopStopsThePings) {
    notify_socket manager;
    const watchdog_env env(manager);
    const pipe_signal block;    // test -> loop: block now
    const pipe_signal blocked;  // loop -> test: the next thing the loop does is block
    const pipe_signal release;  // test -> loop thread: unblock
    const pipe_signal finish;   // test -> loop: end the run
    std::exception_ptr failure;
    std::thread loop([&] {
        try {
            anyio::run([&]() -> anyio::task<> {
                co_await anyio::with_task_group([&](anyio::task_group& group) -> anyio::task<> {
                    group.start_soon(anyio::run_watchdog);
                    co_await anyio::to_thread::run_sync([&] { return block.wait(); });
                    blocked.post();
                    (void)release.wait();  // on the loop thread: the whole loop stands still
                    co_await anyio::to_thread::run_sync([&] { return finish.wait(); });
                    group.cancel_scope().cancel();
                });
            });
        } catch (...) {
            failure = std::current_exception();
        }
    });
    // Whatever happens below, let the loop finish so that the thread can be joined.
    struct unblock_and_join {
        const pipe_signal& block;
        const pipe_signal& release;
        const pipe_signal& finish;
        std::thread& loop;
        ~unblock_and_join() {
            block.post();
            release.post();
            finish.post();
            if (loop.joinable()) loop.join();
        }
    } cleanup{block, release, finish, loop};

    for (int i = 0; i < 3; ++i)
        expect_ping(manager);
    block.post();
    ASSERT_TRUE(blocked.wait()) << "the loop never blocked";
    while (manager.receive(0ms)) {
    }
    const std::optional<anyio_test::notify_message> stray = manager.receive(10 * interval);
    EXPECT_FALSE(stray) << "a ping while the loop was blocked: " << stray->text;
    release.post();
    for (int i = 0; i < 3; ++i)
        expect_ping(manager);
    finish.post();
    loop.join();
    EXPECT_FALSE(failure);
}

}  // namespace
