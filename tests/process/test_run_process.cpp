// run_process with real programs: input, output on both pipes at once, check and
// called_process_error, and cancellation that ends (and reaps) the child before it
// propagates.

#include <anyio/anyio.hpp>

#include "process/process_helpers.hpp"
#include "support/descriptors.hpp"
#include "support/run_helpers.hpp"
#include "support/stream_helpers.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using anyio_test::cmd;
using anyio_test::is_reaped;
using anyio_test::pattern;
using anyio_test::run_autojump;
using anyio_test::run_guarded;

TEST(RunProcess, CapturesStdoutAndStderrSeparately) {
    run_guarded([]() -> anyio::task<> {
        const auto result =
            co_await anyio::run_process(cmd("/bin/sh", "-c", "echo out; echo err >&2; echo more"));
        EXPECT_EQ(result.returncode, 0);
        EXPECT_EQ(result.stdout_data, "out\nmore\n");
        EXPECT_EQ(result.stderr_data, "err\n");
        EXPECT_EQ(result.args,
                  std::vector<std::string>({"/bin/sh", "-c", "echo out; echo err >&2; echo more"}));
    });
}

TEST(RunProcess, MergesStderrIntoStdout) {
    run_guarded([]() -> anyio::task<> {
        anyio::process_options options;
        options.stderr_to = anyio::stdio::as_stdout();
        const auto result = co_await anyio::run_process(
            cmd("/bin/sh", "-c", "echo out; echo err >&2; echo more"), {}, true, options);
        EXPECT_EQ(result.stdout_data, "out\nerr\nmore\n");
        EXPECT_EQ(result.stderr_data, "");
    });
}

TEST(RunProcess, FeedsInputAndClosesStdin) {
    run_guarded([]() -> anyio::task<> {
        const auto echoed = co_await anyio::run_process(cmd("cat"), "one\ntwo\n");
        EXPECT_EQ(echoed.stdout_data, "one\ntwo\n");
        // No input: stdin is closed at once, so cat ends.
        const auto nothing = co_await anyio::run_process(cmd("cat"));
        EXPECT_EQ(nothing.stdout_data, "");
    });
}

TEST(RunProcess, ChildThatIgnoresItsInputIsNoError) {
    run_guarded([]() -> anyio::task<> {
        const auto result =
            co_await anyio::run_process(cmd("true"), pattern(std::size_t{4} << 20, 1));
        EXPECT_EQ(result.returncode, 0);
    });
}

TEST(RunProcess, BothPipesFullAtOnceDoNotDeadlock) {
    run_guarded([]() -> anyio::task<> {
        // Megabytes on stderr before anything on stdout: a reader that drained stdout first
        // would wait forever for a child blocked on a full stderr pipe.
        const auto result = co_await anyio::run_process(
            cmd("/bin/sh", "-c", "head -c 4000000 /dev/zero >&2; head -c 3000000 /dev/zero"));
        EXPECT_EQ(result.stderr_data.size(), 4'000'000u);
        EXPECT_EQ(result.stdout_data.size(), 3'000'000u);
    });
}

TEST(RunProcess, CheckThrowsCalledProcessErrorWithEverything) {
    run_guarded([]() -> anyio::task<> {
        const std::vector<std::string> argv = {"/bin/sh", "-c", "echo o; echo e >&2; exit 4"};
        try {
            (void)co_await anyio::run_process(argv);
            ADD_FAILURE() << "no called_process_error";
        } catch (const anyio::called_process_error& e) {
            EXPECT_EQ(e.returncode(), 4);
            EXPECT_EQ(e.argv(), argv);
            EXPECT_EQ(e.stdout_data(), "o\n");
            EXPECT_EQ(e.stderr_data(), "e\n");
            const std::string what = e.what();
            EXPECT_NE(what.find("/bin/sh -c 'echo o; echo e >&2; exit 4'"), std::string::npos)
                << what;
            EXPECT_NE(what.find("exit status 4"), std::string::npos) << what;
        }
        // Without check, the code is returned; check_returncode() throws the same error.
        const auto unchecked = co_await anyio::run_process(argv, {}, false);
        EXPECT_EQ(unchecked.returncode, 4);
        EXPECT_THROW(unchecked.check_returncode(), anyio::called_process_error);
        // A death by signal is a failure too, and says which.
        try {
            (void)co_await anyio::run_process(cmd("/bin/sh", "-c", "kill -KILL $$"));
            ADD_FAILURE() << "no called_process_error";
        } catch (const anyio::called_process_error& e) {
            EXPECT_EQ(e.returncode(), -SIGKILL);
            EXPECT_NE(std::string(e.what()).find("SIGKILL"), std::string::npos) << e.what();
        }
        // It is a std::exception.
        bool caught = false;
        try {
            (void)co_await anyio::run_process(cmd("false"));
        } catch (const std::exception&) {
            caught = true;
        }
        EXPECT_TRUE(caught);
    });
}

TEST(RunProcess, MissingExecutableRaisesSystemError) {
    run_guarded([]() -> anyio::task<> {
        bool caught = false;
        try {
            (void)co_await anyio::run_process(cmd("anyio-no-such-program"));
        } catch (const std::system_error& e) {
            caught = e.code() == std::errc::no_such_file_or_directory;
        }
        EXPECT_TRUE(caught);
        EXPECT_TRUE(anyio_test::children_of_this_process().empty());
    });
}

TEST(RunProcess, InputNeedsAPipe) {
    run_guarded([]() -> anyio::task<> {
        anyio::process_options options;
        options.stdin_from = anyio::stdio::devnull();
        bool refused = false;
        try {
            (void)co_await anyio::run_process(cmd("cat"), "data", true, options);
        } catch (const std::invalid_argument&) {
            refused = true;
        }
        EXPECT_TRUE(refused);
    });
}

// Runs `argv` under run_process in a scope that is cancelled once the child has written its
// pid to stderr (through a pipe of ours); returns that pid after the scope ended, checking
// that the cancellation propagated out of run_process.
anyio::task<pid_t> cancel_once_started(std::vector<std::string> argv,
                                       std::chrono::milliseconds grace) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    auto pid_pipe = anyio::byte_stream::adopt(fds[0]);
    anyio::process_options options;
    options.stderr_to = anyio::stdio::from_fd(fds[1]);
    options.termination_grace = grace;
    std::string line;
    bool returned = false;
    anyio::cancel_scope scope;
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        tg.start_soon([&]() -> anyio::task<> {
            (void)co_await scope.run([&]() -> anyio::task<> {
                (void)co_await anyio::run_process(argv, {}, true, options);
                returned = true;
            });
        });
        while (line.find('\n') == std::string::npos)
            line += co_await pid_pipe.receive();
        scope.cancel();
    });
    ::close(fds[1]);
    EXPECT_FALSE(returned) << "run_process returned instead of propagating cancellation";
    EXPECT_TRUE(scope.cancelled_caught());
    co_return static_cast<pid_t>(std::stol(line));
}

TEST(RunProcess, CancellationTerminatesAndReapsTheChild) {
    run_guarded([]() -> anyio::task<> {
        // A grace far beyond the hang guard: finishing at all shows SIGTERM ended it.
        const pid_t pid = co_await cancel_once_started(
            cmd("/bin/sh", "-c", "echo $$ >&2; exec sleep 100"), std::chrono::hours(1));
        EXPECT_TRUE(is_reaped(pid)) << "pid " << pid << " was left behind";
        EXPECT_TRUE(anyio_test::children_of_this_process().empty());
    });
}

TEST(RunProcess, CancellationKillsAChildThatIgnoresSigtermAfterTheGrace) {
    run_autojump([]() -> anyio::task<> {
        // `exec` makes sleep itself the child, inheriting the ignored SIGTERM.
        // On virtual time: the grace passes the moment the loop idles, exactly.
        const auto grace = 300ms;
        const auto start = anyio::current_time();
        const pid_t pid = co_await cancel_once_started(
            cmd("/bin/sh", "-c", "trap '' TERM; echo $$ >&2; exec sleep 100"), grace);
        EXPECT_EQ(anyio::current_time() - start, grace)
            << "SIGKILL came before or long after the grace period ended";
        EXPECT_TRUE(is_reaped(pid)) << "pid " << pid << " was left behind";
        EXPECT_TRUE(anyio_test::children_of_this_process().empty());
    });
}

TEST(RunProcess, ManyRunsInARowLeaveNoChildAndNoDescriptor) {
    const std::size_t fds_before = anyio_test::open_fd_count();
    run_guarded([]() -> anyio::task<> {
        for (int i = 0; i < 300; ++i) {
            const auto result = co_await anyio::run_process(cmd("/bin/true"));
            EXPECT_EQ(result.returncode, 0);
        }
    });
    EXPECT_TRUE(anyio_test::children_of_this_process().empty());
    EXPECT_EQ(anyio_test::open_fd_count(), fds_before);
}

}  // namespace
