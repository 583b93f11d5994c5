// process::stop (signal, grace, SIGKILL, reap) with real children, the process streams
// used through the abc byte stream interfaces, and open_process with a shell command.
//
// Timing: a child that honours its stop signal runs in real time under a grace far beyond
// the hang guard, so returning at all shows the signal ended it. A child that ignores the
// signal runs on virtual time (autojump): nothing can end it but SIGKILL, so the result
// does not depend on when the clock jumps, and the grace is measured exactly.

#include <anyio/anyio.hpp>

#include "process/process_helpers.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using anyio_test::cmd;
using anyio_test::is_reaped;
using anyio_test::run_autojump;
using anyio_test::run_guarded;

// Beyond run_test's 60 s hang guard: a stop that returns did not wait for it.
constexpr std::chrono::milliseconds forever = std::chrono::hours(1);

// The shell ignores SIGTERM before it says "ready"; `exec` hands that to sleep.
const std::vector<std::string> stubborn =
    cmd("/bin/sh", "-c", "trap '' TERM; echo ready; exec sleep 100");

// Reads through the interface only, as a wrapper (buffered, text) does.
anyio::task<std::string> receive_to_end(anyio::abc::byte_receive_stream& stream) {
    std::string all;
    for (;;) {
        try {
            all += co_await stream.receive();
        } catch (const anyio::end_of_stream&) {
            co_return all;
        }
    }
}

anyio::task<> receive_until(anyio::abc::byte_receive_stream& stream, std::string_view line) {
    std::string seen;
    while (seen.find(line) == std::string::npos)
        seen += co_await stream.receive();
}

// Gone for good: not running, not a zombie, no longer our child.
void expect_gone(pid_t pid) {
    EXPECT_TRUE(is_reaped(pid)) << "pid " << pid << " is still our child (running or zombie)";
    const int probed = ::kill(pid, 0);
    const int error = errno;
    EXPECT_EQ(probed, -1) << "pid " << pid << " still exists";
    EXPECT_EQ(error, ESRCH);
    EXPECT_TRUE(anyio_test::children_of_this_process().empty());
}

TEST(ProcessStop, SigtermEndsAChildThatHonoursIt) {
    run_guarded([]() -> anyio::task<> {
        anyio::process child = co_await anyio::open_process(cmd("sleep", "100"));
        const int code = co_await child.stop(forever);
        EXPECT_EQ(code, -SIGTERM);
        EXPECT_EQ(child.returncode(), -SIGTERM);
        expect_gone(child.pid());
    });
}

TEST(ProcessStop, TheGraceLetsTheChildCleanUpAndItsOutputStaysReadable) {
    run_guarded([]() -> anyio::task<> {
        // `wait` returns as soon as the trapped signal arrives (a foreground sleep would
        // delay the trap until it ended).
        anyio::process child =
            co_await anyio::open_process(cmd("/bin/sh", "-c",
                                             "trap 'kill $pid; echo cleaned up; exit 3' TERM; "
                                             "sleep 100 >/dev/null & pid=$!; echo ready; wait"));
        co_await receive_until(child.stdout_stream(), "ready\n");
        const int code = co_await child.stop(forever);
        EXPECT_EQ(code, 3) << "the child's own exit code, not the signal";
        const std::string rest = co_await receive_to_end(child.stdout_stream());
        EXPECT_EQ(rest, "cleaned up\n");
        expect_gone(child.pid());
    });
}

TEST(ProcessStop, AChildIgnoringSigtermIsKilledWhenTheGraceEnds) {
    run_autojump([]() -> anyio::task<> {
        anyio::process child = co_await anyio::open_process(stubborn);
        co_await receive_until(child.stdout_stream(), "ready\n");
        const auto start = anyio::current_time();
        const int code = co_await child.stop(300ms);
        EXPECT_EQ(code, -SIGKILL);
        EXPECT_EQ(anyio::current_time() - start, 300ms)
            << "SIGKILL came before or long after the grace ended";
        expect_gone(child.pid());
    });
}

TEST(ProcessStop, ZeroGraceKillsAtOnce) {
    run_autojump([]() -> anyio::task<> {
        // The first fatal signal sent decides a child's return code: -SIGKILL shows no
        // SIGTERM went first.
        anyio::process child = co_await anyio::open_process(cmd("sleep", "100"));
        const auto start = anyio::current_time();
        const int code = co_await child.stop(0ms);
        EXPECT_EQ(code, -SIGKILL);
        EXPECT_EQ(anyio::current_time() - start, 0ms);
        expect_gone(child.pid());
    });
}

TEST(ProcessStop, CancelledDuringTheGraceStillKillsAndReaps) {
    run_autojump([]() -> anyio::task<> {
        anyio::process child = co_await anyio::open_process(stubborn);
        co_await receive_until(child.stdout_stream(), "ready\n");
        const auto start = anyio::current_time();
        bool returned = false;
        anyio::cancel_scope scope(anyio::deadline_after(50ms));
        const bool finished = co_await scope.run([&]() -> anyio::task<> {
            (void)co_await child.stop(forever);
            returned = true;
        });
        EXPECT_FALSE(finished);
        EXPECT_FALSE(returned) << "stop returned instead of propagating cancelled";
        EXPECT_TRUE(scope.cancelled_caught());
        EXPECT_EQ(anyio::current_time() - start, 50ms) << "the grace was not cut short";
        EXPECT_EQ(child.returncode(), -SIGKILL);
        expect_gone(child.pid());
    });
}

TEST(ProcessStop, CancelledBeforeItStartsStillKillsAndReaps) {
    run_autojump([]() -> anyio::task<> {
        // SIGTERM would end sleep with -SIGTERM (the first fatal signal decides):
        // -SIGKILL shows it was skipped.
        anyio::process child = co_await anyio::open_process(cmd("sleep", "100"));
        anyio::cancel_scope scope;
        scope.cancel();
        const bool finished =
            co_await scope.run([&]() -> anyio::task<> { (void)co_await child.stop(forever); });
        EXPECT_FALSE(finished);
        EXPECT_EQ(child.returncode(), -SIGKILL);
        expect_gone(child.pid());
    });
}

TEST(ProcessStop, AFinishedProcessReturnsItsCodeAndGetsNoSignal) {
    run_guarded([]() -> anyio::task<> {
        // Ended and reaped by wait().
        anyio::process waited = co_await anyio::open_process(cmd("/bin/sh", "-c", "exit 7"));
        const int waited_code = co_await waited.wait();
        EXPECT_EQ(waited_code, 7);
        const int stopped_code = co_await waited.stop(forever);
        EXPECT_EQ(stopped_code, 7);

        // Ended but not reaped: its stdout reached end of stream, which the kernel does
        // only once the child is exiting with its code fixed.
        anyio::process ended =
            co_await anyio::open_process(cmd("/bin/sh", "-c", "echo bye; exit 5"));
        const std::string said = co_await receive_to_end(ended.stdout_stream());
        EXPECT_EQ(said, "bye\n");
        const int code = co_await ended.stop(0ms);
        EXPECT_EQ(code, 5);
        const int again = co_await ended.stop();
        EXPECT_EQ(again, 5);
        expect_gone(ended.pid());
    });
}

TEST(ProcessStop, IsACheckpointEvenForAFinishedProcess) {
    run_guarded([]() -> anyio::task<> {
        anyio::process child = co_await anyio::open_process(cmd("true"));
        const int code = co_await child.wait();
        EXPECT_EQ(code, 0);
        anyio::cancel_scope scope;
        scope.cancel();
        const bool finished =
            co_await scope.run([&]() -> anyio::task<> { (void)co_await child.stop(); });
        EXPECT_FALSE(finished);
        EXPECT_TRUE(scope.cancelled_caught());
    });
}

TEST(ProcessStop, CustomStopSignal) {
    run_guarded([]() -> anyio::task<> {
        // Ignores SIGTERM: only the chosen signal can end it within the hang guard.
        const auto ignores_term = cmd("/bin/sh", "-c", "trap '' TERM; echo ready; exec sleep 100");

        anyio::process by_argument = co_await anyio::open_process(ignores_term);
        co_await receive_until(by_argument.stdout_stream(), "ready\n");
        const int code_a = co_await by_argument.stop(forever, SIGINT);
        EXPECT_EQ(code_a, -SIGINT);
        expect_gone(by_argument.pid());

        // The defaults of stop() come from the options the process was started with.
        anyio::process_options options;
        options.termination_signal = SIGUSR1;
        options.termination_grace = forever;
        anyio::process by_option = co_await anyio::open_process(ignores_term, options);
        co_await receive_until(by_option.stdout_stream(), "ready\n");
        const int code_b = co_await by_option.stop();
        EXPECT_EQ(code_b, -SIGUSR1);
        expect_gone(by_option.pid());
    });
}

TEST(ProcessStop, DefaultsAreSigtermAndTheOptionsGrace) {
    run_autojump([]() -> anyio::task<> {
        anyio::process_options options;
        options.termination_grace = 700ms;
        anyio::process child = co_await anyio::open_process(stubborn, options);
        co_await receive_until(child.stdout_stream(), "ready\n");
        const auto start = anyio::current_time();
        const int code = co_await child.stop();
        EXPECT_EQ(code, -SIGKILL);
        EXPECT_EQ(anyio::current_time() - start, 700ms);
        expect_gone(child.pid());
    });
}

TEST(ProcessStop, RunProcessCancellationUsesTheTerminationSignal) {
    run_guarded([]() -> anyio::task<> {
        // The child ignores SIGTERM and the grace is beyond the hang guard: only
        // termination_signal (SIGUSR1) ends it in time.
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
        auto pid_pipe = anyio::byte_stream::adopt(fds[0]);
        anyio::process_options options;
        options.stderr_to = anyio::stdio::from_fd(fds[1]);
        options.termination_grace = forever;
        options.termination_signal = SIGUSR1;
        const auto argv = cmd("/bin/sh", "-c", "trap '' TERM; echo $$ >&2; exec sleep 100");
        std::string line;
        anyio::cancel_scope scope;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                (void)co_await scope.run([&]() -> anyio::task<> {
                    (void)co_await anyio::run_process(argv, {}, true, options);
                });
            });
            while (line.find('\n') == std::string::npos)
                line += co_await pid_pipe.receive();
            scope.cancel();
        });
        ::close(fds[1]);
        EXPECT_TRUE(scope.cancelled_caught());
        expect_gone(static_cast<pid_t>(std::stol(line)));
    });
}

TEST(ProcessStop, BadArgumentsAreRefusedBeforeAnySignal) {
    run_guarded([]() -> anyio::task<> {
        anyio::process child = co_await anyio::open_process(cmd("sleep", "100"));
        int refused = 0;
        for (const auto& [grace, signo] : std::vector<std::pair<std::chrono::milliseconds, int>>{
                 {-1ms, SIGTERM}, {1s, 0}, {1s, -3}, {1s, 4096}}) {
            try {
                (void)co_await child.stop(grace, signo);
            } catch (const std::invalid_argument&) {
                ++refused;
            }
        }
        EXPECT_EQ(refused, 4);
        EXPECT_FALSE(child.returncode().has_value()) << "a refused stop must not touch the child";

        for (const int signo : {0, 65, -1}) {
            anyio::process_options options;
            options.termination_signal = signo;
            bool rejected = false;
            try {
                (void)co_await anyio::open_process(cmd("true"), options);
            } catch (const std::invalid_argument& error) {
                rejected =
                    std::string(error.what()).find("termination_signal") != std::string::npos;
            }
            EXPECT_TRUE(rejected) << "termination_signal " << signo;
        }
        anyio::process_options negative;
        negative.termination_grace = -1ms;
        bool rejected = false;
        try {
            (void)co_await anyio::open_process(cmd("true"), negative);
        } catch (const std::invalid_argument&) {
            rejected = true;
        }
        EXPECT_TRUE(rejected);
        EXPECT_EQ(anyio_test::children_of_this_process().size(), 1u) << "only the sleep";
        child.kill();
        (void)co_await child.wait();
    });
}

TEST(ProcessStreams, AreTheLibrarysByteStreams) {
    static_assert(
        std::is_base_of_v<
            anyio::abc::byte_stream,
            std::remove_reference_t<decltype(std::declval<anyio::process&>().stdout_stream())>>);
    run_guarded([]() -> anyio::task<> {
        anyio::process child = co_await anyio::open_process(
            cmd("/bin/sh", "-c",
                "while read -r line; do echo \"got $line\"; done; echo 'stdin ended'; "
                "echo 'to stderr' >&2"));
        anyio::abc::byte_stream& in = child.stdin_stream();
        anyio::abc::byte_receive_stream& out = child.stdout_stream();
        anyio::abc::byte_receive_stream& err = child.stderr_stream();
        co_await in.send("one\ntwo\n");
        co_await in.send_eof();  // the child's read sees end of file: its loop ends
        const std::string said = co_await receive_to_end(out);
        EXPECT_EQ(said, "got one\ngot two\nstdin ended\n");
        const std::string complained = co_await receive_to_end(err);
        EXPECT_EQ(complained, "to stderr\n");
        const int code = co_await child.wait();
        EXPECT_EQ(code, 0);
        // aclose through the interface closes the pipe.
        co_await out.aclose();
        EXPECT_FALSE(child.stdout_stream().is_open());
    });
}

TEST(ProcessStreams, ClosingStdinThroughTheInterfaceIsEndOfFile) {
    run_guarded([]() -> anyio::task<> {
        anyio::process cat = co_await anyio::open_process(cmd("cat"));
        anyio::abc::byte_send_stream& in = cat.stdin_stream();
        co_await in.send("last words");
        co_await in.aclose();
        const std::string echoed = co_await receive_to_end(cat.stdout_stream());
        EXPECT_EQ(echoed, "last words");
        const int code = co_await cat.wait();
        EXPECT_EQ(code, 0);
    });
}

TEST(ShellCommand, RunsAPipeline) {
    run_guarded([]() -> anyio::task<> {
        anyio::process child =
            co_await anyio::open_process("printf 'pear\\napple\\nfig\\n' | sort | tr a-z A-Z");
        const std::string sorted = co_await receive_to_end(child.stdout_stream());
        EXPECT_EQ(sorted, "APPLE\nFIG\nPEAR\n");
        const int code = co_await child.wait();
        EXPECT_EQ(code, 0);
    });
}

TEST(ShellCommand, EveryStringTypeAndTheOptions) {
    run_guarded([]() -> anyio::task<> {
        anyio::process_options options;
        options.env = std::map<std::string, std::string>{{"GREETING", "hello"}};
        options.stderr_to = anyio::stdio::as_stdout();
        const std::string owned = "echo \"$GREETING\" >&2; exit 4";
        anyio::process a = co_await anyio::open_process(owned, options);
        const std::string said = co_await receive_to_end(a.stdout_stream());
        EXPECT_EQ(said, "hello\n");
        const int code_a = co_await a.wait();
        EXPECT_EQ(code_a, 4);

        const std::string_view view = "exit 5";
        anyio::process b = co_await anyio::open_process(view);
        const int code_b = co_await b.wait();
        EXPECT_EQ(code_b, 5);

        // The command is copied: a temporary string may end before the task runs.
        anyio::task<anyio::process> later = anyio::open_process(std::string("exit 6"));
        anyio::process c = co_await std::move(later);
        const int code_c = co_await c.wait();
        EXPECT_EQ(code_c, 6);

        bool refused = false;
        try {
            (void)co_await anyio::open_process("");
        } catch (const std::invalid_argument&) {
            refused = true;
        }
        EXPECT_TRUE(refused);
    });
}

TEST(ShellCommand, ABracedListOrAVectorIsStillArgvWithoutAShell) {
    run_guarded([]() -> anyio::task<> {
        // "exit 3" as a program name does not exist; as a shell command it would exit 3.
        // g++ 12 cannot compile a braced list inside co_await: make the task first.
        anyio::task<anyio::process> braced = anyio::open_process({"exit 3"});
        bool as_argv = false;
        try {
            (void)co_await std::move(braced);
        } catch (const std::system_error&) {
            as_argv = true;
        }
        EXPECT_TRUE(as_argv) << "a one-string braced list went to the shell";

        anyio::task<anyio::process> two = anyio::open_process({"echo", "$HOME; exit 9"});
        anyio::process echo = co_await std::move(two);
        const std::string printed = co_await receive_to_end(echo.stdout_stream());
        EXPECT_EQ(printed, "$HOME; exit 9\n");
        const int code = co_await echo.wait();
        EXPECT_EQ(code, 0);

        const std::vector<std::string> argv = {"echo", "$HOME"};
        anyio::process from_vector = co_await anyio::open_process(argv);
        const std::string literal = co_await receive_to_end(from_vector.stdout_stream());
        EXPECT_EQ(literal, "$HOME\n");
        (void)co_await from_vector.wait();
        EXPECT_TRUE(anyio_test::children_of_this_process().empty());
    });
}

TEST(ShellCommand, StopReachesTheShell) {
    run_autojump([]() -> anyio::task<> {
        // Without `exec`, the child is the shell itself; SIGKILL ends it.
        anyio::process child = co_await anyio::open_process("trap '' TERM; echo ready; read x");
        co_await receive_until(child.stdout_stream(), "ready\n");
        const int code = co_await child.stop(100ms);
        EXPECT_EQ(code, -SIGKILL);
        expect_gone(child.pid());
    });
}

}  // namespace
