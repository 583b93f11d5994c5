// anyio::run_with_portal: a program built around a blocking portal, stopped by Ctrl+C or a
// graceful signal the way run_main is: every portal task is cancelled and cleans up, the
// main thread's calls fail with an error naming the signal, and once main returns the
// process dies by that signal. A real program (tests/programs/portal_main_target.cpp) gets
// real signals (a pseudo-terminal's Ctrl+C, kill from this process); scenarios that raise
// signals themselves run in a forked child. Without signals: return value, exceptions,
// wait_for_stop. Handshakes, never sleeps; timeouts are hang guards.

#include <anyio/anyio.hpp>

#include "support/child_process.hpp"
#include "support/signal_helpers.hpp"
#include "thread/thread_helpers.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;

const std::string target = PORTAL_MAIN_TARGET_EXE;

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// What the target printed after "ready" and how it ended.
struct ending {
    std::string rest;
    anyio_test::exit_status status;
};

// Runs the target in `mode` until it is ready, then sends `signo`: SIGINT as a terminal's
// Ctrl+C, anything else with kill(2). `between` runs after the signal (more input).
template <class Between>
ending stop_target(const std::string& mode, int signo, Between between) {
    anyio_test::process program({target, mode},
                                {.pseudo_terminal = signo == SIGINT, .capture_stderr = true});
    ending result;
    const std::string first = program.read_line();
    EXPECT_EQ(first, "ready");
    if (first != "ready") return result;
    if (signo == SIGINT) {
        program.press_ctrl_c();
    } else {
        program.send(signo);
    }
    between(program);
    result.rest = program.read_rest();
    result.status = program.wait();
    anyio_test::expect_no_crash_text(result.rest);
    EXPECT_FALSE(result.status.core_dumped);
    return result;
}

ending stop_target(const std::string& mode, int signo) {
    return stop_target(mode, signo, [](anyio_test::process&) {});
}

// A pipe from a forked child to the test: what the child wrote before it ended.
class child_log {
public:
    child_log() {
        if (::pipe2(fds_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    }
    child_log(const child_log&) = delete;
    child_log& operator=(const child_log&) = delete;
    ~child_log() {
        for (const int fd : fds_)
            if (fd >= 0) ::close(fd);
    }
    // In the child.
    void write(const std::string& text) const {
        [[maybe_unused]] const ssize_t n = ::write(fds_[1], text.data(), text.size());
    }
    // In the parent, once the child has ended.
    std::string read_all() {
        ::close(std::exchange(fds_[1], -1));
        std::string text;
        char chunk[256];
        for (ssize_t n; (n = ::read(fds_[0], chunk, sizeof chunk)) > 0;)
            text.append(chunk, static_cast<std::size_t>(n));
        return text;
    }

private:
    int fds_[2] = {-1, -1};
};

// A portal task that reports ready, then sleeps until cancelled, logging its cleanup.
anyio::task<> logged_sleeper(anyio::task_status<>& status, const child_log* log) {
    status.started();
    try {
        co_await anyio::sleep(1h);
    } catch (const anyio::cancelled&) {
        log->write("cleanup;");
        throw;
    }
}

}  // namespace

// --- A real program, real signals -------------------------------------------------------

TEST(PortalMain, CtrlCCancelsTheTasksThenTheProgramDiesBySigint) {
    const ending e = stop_target("wait", SIGINT);
    EXPECT_EQ(e.status.signal, SIGINT) << e.status.describe() << "\n" << e.rest;
    EXPECT_TRUE(contains(e.rest, "stopped by 2, running 0, stop_signal 2\n")) << e.rest;
    EXPECT_TRUE(contains(e.rest, "task cleanup\n")) << e.rest;
    EXPECT_TRUE(contains(e.rest,
                         "get: anyio::blocking_portal: the portal task was cancelled "
                         "because SIGINT (2) stopped the portal\n"))
        << e.rest;
    EXPECT_TRUE(contains(
        e.rest, "call: anyio::blocking_portal::call: the portal was stopped by SIGINT (2)\n"))
        << e.rest;
    EXPECT_LT(e.rest.find("task cleanup"), e.rest.find("get: ")) << "get() waits for the cleanup";
    EXPECT_TRUE(contains(e.rest, "main returns\n")) << e.rest;
}

TEST(PortalMain, SigtermWhileMainWaitsInACallCancelsItThenDiesBySigterm) {
    const ending e = stop_target("call", SIGTERM);
    EXPECT_EQ(e.status.signal, SIGTERM) << e.status.describe() << "\n" << e.rest;
    EXPECT_EQ(e.rest,
              "task cleanup\n"
              "call: anyio::blocking_portal: the portal task was cancelled because SIGTERM (15) "
              "stopped the portal\n"
              "main returns\n");
}

// The default second-interrupt policy: a main that does not return after the stop is
// ended by the second Ctrl+C, by SIGINT (without it the program would hang).
TEST(PortalMain, ASecondCtrlCEndsAMainThatDoesNotReturn) {
    const ending e = stop_target("stubborn", SIGINT, [](anyio_test::process& program) {
        EXPECT_EQ(program.read_line(), "stopping");
        program.press_ctrl_c();
    });
    EXPECT_FALSE(e.status.hung) << "the second Ctrl+C did not end the program";
    EXPECT_EQ(e.status.signal, SIGINT) << e.status.describe() << "\n" << e.rest;
}

TEST(PortalMain, AMainThatThrowsAfterTheStopStillDiesByTheSignal) {
    const ending e = stop_target("throws", SIGTERM);
    EXPECT_EQ(e.status.signal, SIGTERM) << e.status.describe() << "\n" << e.rest;
}

// --- Signals raised in a forked child --------------------------------------------------

// on_second_interrupt = defer: a second Ctrl+C while main finishes is not fatal; main
// returns, and the process dies by the first.
TEST(PortalMain, DeferPolicyLetsMainFinishAfterASecondCtrlC) {
    child_log log;
    const auto status = anyio_test::run_in_child([&log] {
        anyio::set_signal_request_window(0ns);  // two raises from this thread: two requests
        anyio::run_options options;
        options.on_second_interrupt = anyio::second_interrupt::defer;
        anyio::run_with_portal(options, [&log](anyio::blocking_portal& portal) {
            auto started = portal.start_task(logged_sleeper, &log);
            ::raise(SIGINT);  // the handler runs before raise returns
            const int signo = portal.wait_for_stop();
            started.future.wait();  // the task's cleanup has run
            log.write("stopped by " + std::to_string(signo) + ";");
            ::raise(SIGINT);
            log.write("survived;");
            return 0;
        });
        log.write("returned;");
    });
    EXPECT_EQ(status.signal, SIGINT) << status.describe();
    EXPECT_EQ(log.read_all(), "cleanup;stopped by 2;survived;");
}

TEST(PortalMain, ForceExitPolicyEndsAtTheSecondCtrlC) {
    child_log log;
    const auto status = anyio_test::run_in_child([&log] {
        anyio::set_signal_request_window(0ns);
        anyio::run_with_portal([&log](anyio::blocking_portal& portal) {
            ::raise(SIGINT);
            portal.wait_for_stop();
            log.write("stopped;");
            ::raise(SIGINT);
            log.write("survived;");
        });
    });
    EXPECT_EQ(status.signal, SIGINT) << status.describe();
    EXPECT_EQ(log.read_all(), "stopped;");
}

// SIGTERM without graceful_signals keeps its default action: the process dies at once,
// no cleanup.
TEST(PortalMain, SigtermWithoutTheOptionKeepsItsDefaultAction) {
    child_log log;
    const auto status = anyio_test::run_in_child([&log] {
        anyio::run_with_portal([&log](anyio::blocking_portal& portal) {
            [[maybe_unused]] auto started = portal.start_task(logged_sleeper, &log);
            ::raise(SIGTERM);
            log.write("survived;");
        });
    });
    EXPECT_EQ(status.signal, SIGTERM) << status.describe();
    EXPECT_EQ(log.read_all(), "");
}

// A signal the program set to SIG_IGN is not claimed: Ctrl+C changes nothing.
TEST(PortalMain, AnIgnoredSigintIsLeftAlone) {
    const auto status = anyio_test::run_in_child([] {
        anyio_test::set_handler(SIGINT, SIG_IGN);
        const int code = anyio::run_with_portal([](anyio::blocking_portal& portal) {
            EXPECT_TRUE(anyio_test::is_ignored(SIGINT));
            ::raise(SIGINT);
            EXPECT_TRUE(portal.running());
            EXPECT_EQ(portal.call([] { return 3; }), 3);
            return 4;
        });
        EXPECT_EQ(code, 4);
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// --- Without signals --------------------------------------------------------------------

TEST(PortalMain, ReturnsWhatMainReturnsAndCancelsWhatStillRuns) {
    auto cleanups = std::make_shared<std::atomic<int>>(0);
    const int code = anyio::run_with_portal(
        [](anyio::blocking_portal& portal, std::shared_ptr<std::atomic<int>> count) {
            (void)portal.start_task_soon(anyio_test::sleep_counting_cleanup, count);
            return portal.call([] { return 3; });
        },
        cleanups);
    EXPECT_EQ(code, 3);
    EXPECT_EQ(cleanups->load(), 1) << "the task still running was cancelled, and cleaned up";
    EXPECT_EQ(anyio::run_with_portal([](anyio::blocking_portal&) {}), 0);
}

// The exception leaves run_with_portal once the portal has stopped: the task main left
// running was cancelled and cleaned up first.
TEST(PortalMain, MainsExceptionPropagatesAfterThePortalStopped) {
    auto cleanups = std::make_shared<std::atomic<int>>(0);
    int cleanups_seen = -1;
    try {
        anyio::run_with_portal([cleanups](anyio::blocking_portal& portal) {
            (void)portal.start_task_soon(anyio_test::sleep_counting_cleanup, cleanups);
            portal.call([] {});  // the task has started (and will have a cleanup) by now
            throw std::out_of_range("main failed");
        });
        ADD_FAILURE() << "no exception";
    } catch (const std::out_of_range& e) {
        cleanups_seen = cleanups->load();
        EXPECT_STREQ(e.what(), "main failed");
    }
    EXPECT_EQ(cleanups_seen, 1);
}

TEST(PortalMain, InvalidGracefulSignalsAreRefusedBeforeMainRuns) {
    bool ran = false;
    anyio::run_options options;
    options.graceful_signals = {SIGKILL};
    EXPECT_THROW(anyio::run_with_portal(options, [&ran](anyio::blocking_portal&) { ran = true; }),
                 std::invalid_argument);
    EXPECT_FALSE(ran);
}

// wait_for_stop on a plain portal: another thread's stop() ends it, with 0 (no signal).
TEST(PortalMain, WaitForStopReturnsZeroForStop) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    EXPECT_FALSE(portal.wait_for_stop_for(1ms));
    std::thread stopper([&portal] { portal.stop(); });
    EXPECT_EQ(portal.wait_for_stop(), 0);
    stopper.join();
    EXPECT_TRUE(portal.wait_for_stop_for(1ms));
    EXPECT_EQ(portal.stop_signal(), 0);
}

TEST(PortalMain, WaitForStopOnThePortalThreadIsALogicError) {
    anyio::blocking_portal portal = anyio::start_blocking_portal();
    EXPECT_THROW(portal.call([&portal] { return portal.wait_for_stop(); }), std::logic_error);
}
