// open_process with real programs (/bin/sh, cat, sleep, true, false): pipes, return
// codes, signals, waiting and cancellation, what a child inherits, and that no child is
// ever left behind.

#include <anyio/anyio.hpp>

#include "process/process_helpers.hpp"
#include "support/child_process.hpp"
#include "support/run_helpers.hpp"
#include "support/stream_helpers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using anyio_test::cmd;
using anyio_test::is_reaped;
using anyio_test::pattern;
using anyio_test::receive_all;
using anyio_test::run_autojump;
using anyio_test::run_guarded;
using anyio_test::settle;

TEST(Process, EchoThroughCat) {
    run_guarded([]() -> anyio::task<> {
        anyio::process cat = co_await anyio::open_process(cmd("cat"));
        EXPECT_GT(cat.pid(), 0);
        co_await cat.stdin_stream().send("hello, cat");
        co_await cat.stdin_stream().send_eof();
        const auto echoed = co_await receive_all(cat.stdout_stream());
        EXPECT_EQ(echoed, "hello, cat");
        const auto code = co_await cat.wait();
        EXPECT_EQ(code, 0);
        EXPECT_EQ(cat.returncode(), 0);
    });
}

TEST(Process, SixtyFourMiBThroughCatArriveIntact) {
    run_guarded([]() -> anyio::task<> {
        const std::string sent = pattern(std::size_t{64} << 20, 42);
        anyio::process cat = co_await anyio::open_process(cmd("cat"));
        std::string got;
        const auto start = std::chrono::steady_clock::now();
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await cat.stdin_stream().send(sent);
                co_await cat.stdin_stream().send_eof();
            });
            got = co_await receive_all(cat.stdout_stream());
        });
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
        EXPECT_EQ(got.size(), sent.size());
        EXPECT_TRUE(got == sent) << "the bytes came back changed";
        const auto code = co_await cat.wait();
        EXPECT_EQ(code, 0);
        std::printf("64 MiB through cat in %.3f s: %.0f MiB/s\n", took.count(), 64 / took.count());
    });
}

TEST(Process, ReturnCodesAndDeathBySignal) {
    run_guarded([]() -> anyio::task<> {
        const std::vector<std::pair<std::vector<std::string>, int>> cases = {
            {{"true"}, 0},
            {{"false"}, 1},
            {{"/bin/sh", "-c", "exit 3"}, 3},
            {{"/bin/sh", "-c", "kill -KILL $$"}, -SIGKILL},
            {{"/bin/sh", "-c", "kill -USR1 $$"}, -SIGUSR1},
        };
        for (const auto& c : cases) {
            anyio::process child = co_await anyio::open_process(c.first);
            const auto code = co_await child.wait();
            EXPECT_EQ(code, c.second) << c.first.back();
        }
    });
}

TEST(Process, ReturncodeIsEmptyWhileRunningAndPollsTheEnd) {
    run_guarded([]() -> anyio::task<> {
        anyio::process child = co_await anyio::open_process(cmd("/bin/sh", "-c", "read x; exit 5"));
        EXPECT_FALSE(child.returncode().has_value());
        co_await child.stdin_stream().send("go\n");
        // Polling alone (no wait) sees the end and reaps the child.
        while (!child.returncode().has_value())
            co_await anyio::sleep(1ms);
        EXPECT_EQ(child.returncode(), 5);
        EXPECT_TRUE(is_reaped(child.pid()));
        const auto code = co_await child.wait();
        EXPECT_EQ(code, 5);
    });
}

TEST(Process, TerminateKillAndSendSignal) {
    run_guarded([]() -> anyio::task<> {
        anyio::process a = co_await anyio::open_process(cmd("sleep", "100"));
        a.terminate();
        const auto code_a = co_await a.wait();
        EXPECT_EQ(code_a, -SIGTERM);
        a.terminate();  // reaped: nothing to signal, no error
        a.kill();

        anyio::process b = co_await anyio::open_process(cmd("sleep", "100"));
        b.kill();
        const auto code_b = co_await b.wait();
        EXPECT_EQ(code_b, -SIGKILL);

        anyio::process c = co_await anyio::open_process(cmd("sleep", "100"));
        EXPECT_THROW(c.send_signal(12345), std::invalid_argument);
        c.send_signal(SIGUSR2);
        const auto code_c = co_await c.wait();
        EXPECT_EQ(code_c, -SIGUSR2);
    });
}

TEST(Process, CancelledWaitLeavesTheChildRunning) {
    run_autojump([]() -> anyio::task<> {
        anyio::process child = co_await anyio::open_process(cmd("sleep", "100"));
        const bool finished = co_await anyio::move_on_after(
            20ms, [&]() -> anyio::task<> { (void)co_await child.wait(); });
        EXPECT_FALSE(finished);
        EXPECT_FALSE(child.returncode().has_value());
        EXPECT_EQ(::kill(child.pid(), 0), 0) << "the child must still run";
        // Cancelled before it starts waiting: still a checkpoint.
        anyio::cancel_scope scope;
        scope.cancel();
        const bool ran =
            co_await scope.run([&]() -> anyio::task<> { (void)co_await child.wait(); });
        EXPECT_FALSE(ran);
        child.kill();
        const auto code = co_await child.wait();
        EXPECT_EQ(code, -SIGKILL);
    });
}

TEST(Process, SeveralWaitersAllGetTheCodeAndACancelledOneHandsOver) {
    run_guarded([]() -> anyio::task<> {
        anyio::process child = co_await anyio::open_process(cmd("/bin/sh", "-c", "read x; exit 7"));
        std::vector<int> codes;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            anyio::cancel_scope first;  // the first waiter watches the pidfd; cancel it
            tg.start_soon([&]() -> anyio::task<> {
                (void)co_await first.run(
                    [&]() -> anyio::task<> { codes.push_back(co_await child.wait()); });
            });
            for (int i = 0; i < 3; ++i) {
                tg.start_soon([&]() -> anyio::task<> { codes.push_back(co_await child.wait()); });
            }
            co_await settle();
            first.cancel();
            co_await settle();
            EXPECT_TRUE(codes.empty());
            co_await child.stdin_stream().send("go\n");
        });
        EXPECT_EQ(codes, std::vector<int>({7, 7, 7}));
    });
}

TEST(Process, MissingExecutableIsNamedAndLeavesNoChild) {
    run_guarded([]() -> anyio::task<> {
        for (const std::string program :
             {"/nonexistent/anyio-no-such-program", "anyio-no-such-program-on-path"}) {
            try {
                (void)co_await anyio::open_process(cmd(program, "arg"));
                ADD_FAILURE() << "no error for " << program;
            } catch (const std::system_error& e) {
                EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
                EXPECT_NE(std::string(e.what()).find(program), std::string::npos) << e.what();
            }
        }
        try {
            (void)co_await anyio::open_process(cmd("/etc/passwd"));
            ADD_FAILURE() << "no error for a file that is not executable";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), std::errc::permission_denied);
            EXPECT_NE(std::string(e.what()).find("/etc/passwd"), std::string::npos) << e.what();
        }
        EXPECT_TRUE(anyio_test::children_of_this_process().empty());
        siginfo_t info{};
        EXPECT_EQ(::waitid(P_ALL, 0, &info, WEXITED | WNOHANG), -1);
        EXPECT_EQ(errno, ECHILD);
    });
}

TEST(Process, MissingWorkingDirectoryIsNamed) {
    run_guarded([]() -> anyio::task<> {
        anyio::process_options options;
        options.cwd = "/nonexistent/anyio-dir";
        try {
            (void)co_await anyio::open_process(cmd("true"), options);
            ADD_FAILURE() << "no error";
        } catch (const std::system_error& e) {
            EXPECT_NE(std::string(e.what()).find("/nonexistent/anyio-dir"), std::string::npos)
                << e.what();
        }
        EXPECT_TRUE(anyio_test::children_of_this_process().empty());
    });
}

TEST(Process, BadArgumentsAreRefusedBeforeAnythingStarts) {
    run_guarded([]() -> anyio::task<> {
        const auto refused = [](std::vector<std::string> argv,
                                anyio::process_options options) -> anyio::task<bool> {
            try {
                (void)co_await anyio::open_process(std::move(argv), std::move(options));
            } catch (const std::invalid_argument&) {
                co_return true;
            }
            co_return false;
        };
        const auto empty_argv = co_await refused({}, {});
        EXPECT_TRUE(empty_argv);
        anyio::process_options merged_stdout;
        merged_stdout.stdout_to = anyio::stdio::as_stdout();
        const auto stdout_as_stdout = co_await refused(cmd("true"), merged_stdout);
        EXPECT_TRUE(stdout_as_stdout);
        anyio::process_options bad_fd;
        bad_fd.stdin_from = anyio::stdio::from_fd(-1);
        const auto negative_fd = co_await refused(cmd("true"), bad_fd);
        EXPECT_TRUE(negative_fd);
        anyio::process_options low_pass;
        low_pass.pass_fds = {2};
        const auto low_pass_fd = co_await refused(cmd("true"), low_pass);
        EXPECT_TRUE(low_pass_fd);
        anyio::process_options closed_pass;
        closed_pass.pass_fds = {987};
        const auto closed_pass_fd = co_await refused(cmd("true"), closed_pass);
        EXPECT_TRUE(closed_pass_fd);
        const auto nul_in_argument = co_await refused(cmd("echo", std::string("a\0b", 3)), {});
        EXPECT_TRUE(nul_in_argument);
        anyio::process_options bad_env;
        bad_env.env = std::map<std::string, std::string>{{"A=B", "c"}};
        const auto bad_env_name = co_await refused(cmd("true"), bad_env);
        EXPECT_TRUE(bad_env_name);
        EXPECT_TRUE(anyio_test::children_of_this_process().empty());
    });
}

TEST(Process, CancelledCallerStartsNothing) {
    run_guarded([]() -> anyio::task<> {
        anyio::cancel_scope scope;
        scope.cancel();
        const bool ran = co_await scope.run(
            [&]() -> anyio::task<> { (void)co_await anyio::open_process(cmd("sleep", "100")); });
        EXPECT_FALSE(ran);
        EXPECT_TRUE(anyio_test::children_of_this_process().empty());
    });
}

TEST(Process, StreamsThatAreNotPipesThrowLogicError) {
    run_guarded([]() -> anyio::task<> {
        anyio::process_options options;
        options.stdin_from = anyio::stdio::devnull();
        options.stderr_to = anyio::stdio::as_stdout();
        anyio::process cat = co_await anyio::open_process(cmd("cat"), options);
        EXPECT_THROW((void)cat.stdin_stream(), std::logic_error);
        EXPECT_THROW((void)cat.stderr_stream(), std::logic_error);
        // stdin at /dev/null: cat sees end of file at once.
        const auto output = co_await receive_all(cat.stdout_stream());
        EXPECT_EQ(output, "");
        const auto code = co_await cat.wait();
        EXPECT_EQ(code, 0);
    });
}

TEST(Process, DestroyingARunningProcessKillsAndReapsIt) {
    run_guarded([]() -> anyio::task<> {
        pid_t pid = -1;
        {
            anyio::process child = co_await anyio::open_process(cmd("sleep", "100"));
            pid = child.pid();
            EXPECT_EQ(::kill(pid, 0), 0);
        }
        EXPECT_TRUE(is_reaped(pid)) << "a zombie or a running child was left behind";
        // Assigning over a running process ends it the same way.
        anyio::process a = co_await anyio::open_process(cmd("sleep", "100"));
        const pid_t first = a.pid();
        a = co_await anyio::open_process(cmd("sleep", "100"));
        EXPECT_TRUE(is_reaped(first));
        anyio::process b = std::move(a);
        EXPECT_EQ(a.pid(), -1);  // NOLINT(bugprone-use-after-move): moved-from is empty
        EXPECT_THROW((void)a.returncode(), std::logic_error);
        EXPECT_FALSE(b.returncode().has_value());
    });
    EXPECT_TRUE(anyio_test::children_of_this_process().empty());
}

TEST(Process, AcloseClosesPipesAndWaits) {
    run_guarded([]() -> anyio::task<> {
        // cat ends once its stdin closes.
        anyio::process cat = co_await anyio::open_process(cmd("cat"));
        co_await cat.aclose();
        EXPECT_EQ(cat.returncode(), 0);
        EXPECT_FALSE(cat.stdout_stream().is_open());
    });
}

TEST(Process, CancelledAcloseKillsAndReapsBeforePropagating) {
    run_autojump([]() -> anyio::task<> {
        anyio::process child = co_await anyio::open_process(cmd("sleep", "100"));
        const bool finished = co_await anyio::move_on_after(
            20ms, [&]() -> anyio::task<> { co_await child.aclose(); });
        EXPECT_FALSE(finished);
        EXPECT_EQ(child.returncode(), -SIGKILL);
        EXPECT_TRUE(is_reaped(child.pid()));
    });
}

TEST(Process, SigchldReceiverStillReceivesTheChildsExit) {
    run_guarded([]() -> anyio::task<> {
        auto signals = anyio::open_signal_receiver(SIGCHLD);
        anyio::process child = co_await anyio::open_process(cmd("/bin/sh", "-c", "exit 4"));
        const auto code = co_await child.wait();
        EXPECT_EQ(code, 4);
        const anyio::signal_info info = co_await signals.receive_info();
        EXPECT_EQ(info.signo, SIGCHLD);
        EXPECT_EQ(info.code, CLD_EXITED);
        EXPECT_EQ(info.pid, child.pid());
    });
}

TEST(Process, StatusTakenByAnIgnoredSigchldIsReportedNotInvented) {
    const auto status = anyio_test::run_in_child([] {
        // With SIGCHLD ignored the kernel reaps children itself: the status is gone.
        std::signal(SIGCHLD, SIG_IGN);
        run_guarded([]() -> anyio::task<> {
            anyio::process child = co_await anyio::open_process(cmd("/bin/sh", "-c", "exit 3"));
            bool reported = false;
            try {
                (void)co_await child.wait();
            } catch (const std::system_error& e) {
                reported = e.code() == std::errc::no_child_process;
            }
            EXPECT_TRUE(reported);
            EXPECT_THROW((void)child.returncode(), std::system_error);
            child.kill();  // nothing to signal any more: no error
            // Destroying one that still runs does not hang either.
            anyio::process sleeper = co_await anyio::open_process(cmd("sleep", "100"));
        });
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(Process, ChildStartsWithDefaultDispositionsAndAnEmptyMask) {
    const auto status = anyio_test::run_in_child([] {
        // Everything a parent could pass on: an ignored signal, a blocked one, and handlers
        // (anyio's, for a receiver).
        std::signal(SIGINT, SIG_IGN);
        std::signal(SIGPIPE, SIG_IGN);
        sigset_t blocked;
        sigemptyset(&blocked);
        sigaddset(&blocked, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
        run_guarded([]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR2, SIGHUP);
            const auto parent = co_await anyio::run_process(cmd("cat", "/proc/self/status"));
            // What this process has, for contrast: the test means something.
            const auto self = co_await anyio::run_process(
                cmd("cat", "/proc/" + std::to_string(::getpid()) + "/status"));
            EXPECT_NE(anyio_test::status_field(self.stdout_data, "SigIgn"), "0000000000000000");
            EXPECT_NE(anyio_test::status_field(self.stdout_data, "SigCgt"), "0000000000000000");
            for (const char* field : {"SigBlk", "SigIgn", "SigCgt"}) {
                EXPECT_EQ(anyio_test::status_field(parent.stdout_data, field), "0000000000000000")
                    << field;
            }
        });
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(Process, ChildInheritsNoDescriptorsButPassFds) {
    const auto status = anyio_test::run_in_child([] {
        // Descriptors this process leaks on purpose (no close-on-exec), low and high.
        const int leaked = ::open("/dev/null", O_RDONLY);
        ASSERT_GE(leaked, 0);
        ASSERT_EQ(::dup2(leaked, 40), 40);
        int fds[2];
        ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
        ASSERT_EQ(::dup3(fds[1], 7, O_CLOEXEC), 7);
        ::close(fds[1]);
        run_guarded([&]() -> anyio::task<> {
            const auto plain = co_await anyio::run_process(cmd("ls", "/proc/self/fd"));
            EXPECT_EQ(plain.stdout_data, "0\n1\n2\n3\n");  // 3: ls's own directory

            anyio::process_options options;
            options.pass_fds = {7};
            const auto passed = co_await anyio::run_process(
                cmd("/bin/sh", "-c", "echo through-7 >&7; exec ls /proc/self/fd"), {}, true,
                options);
            EXPECT_EQ(passed.stdout_data, "0\n1\n2\n3\n7\n");
            ::close(7);
            auto from_child = anyio::byte_stream::adopt(fds[0]);
            const auto through_fd = co_await receive_all(from_child);
            EXPECT_EQ(through_fd, "through-7\n");
        });
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(Process, StdioFromDescriptorsEvenSwapped) {
    const auto status = anyio_test::run_in_child([] {
        // This process's stdout and stderr become two pipes; the child gets them crossed.
        const int real_stdout = ::dup(1);
        const int real_stderr = ::dup(2);
        int out[2];
        int err[2];
        ASSERT_EQ(::pipe(out), 0);
        ASSERT_EQ(::pipe(err), 0);
        ASSERT_EQ(::dup2(out[1], 1), 1);
        ASSERT_EQ(::dup2(err[1], 2), 2);
        ::close(out[1]);
        ::close(err[1]);
        run_guarded([&]() -> anyio::task<> {
            anyio::process_options options;
            options.stdout_to = anyio::stdio::from_fd(2);
            options.stderr_to = anyio::stdio::from_fd(1);
            anyio::process child = co_await anyio::open_process(
                cmd("/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2"), options);
            const auto code = co_await child.wait();
            EXPECT_EQ(code, 0);
        });
        ::dup2(real_stdout, 1);
        ::dup2(real_stderr, 2);
        char buffer[64] = {};
        const ssize_t n_out = ::read(out[0], buffer, sizeof buffer - 1);
        EXPECT_EQ(std::string(buffer, static_cast<std::size_t>(std::max<ssize_t>(n_out, 0))),
                  "to-stderr\n");
        const ssize_t n_err = ::read(err[0], buffer, sizeof buffer - 1);
        EXPECT_EQ(std::string(buffer, static_cast<std::size_t>(std::max<ssize_t>(n_err, 0))),
                  "to-stdout\n");
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(Process, InheritedStdinIsThisProcesssOwn) {
    run_guarded([]() -> anyio::task<> {
        anyio::process_options options;
        options.stdin_from = anyio::stdio::inherit();
        const auto child =
            co_await anyio::run_process(cmd("readlink", "/proc/self/fd/0"), {}, true, options);
        char mine[4096] = {};
        const ssize_t n = ::readlink("/proc/self/fd/0", mine, sizeof mine - 1);
        EXPECT_GT(n, 0);
        EXPECT_EQ(child.stdout_data, std::string(mine, static_cast<std::size_t>(n)) + "\n");
    });
}

TEST(Process, WorkingDirectoryEnvironmentAndNewSession) {
    run_guarded([]() -> anyio::task<> {
        anyio::process_options in_tmp;
        in_tmp.cwd = "/tmp";
        const auto pwd = co_await anyio::run_process(cmd("pwd"), {}, true, in_tmp);
        EXPECT_EQ(pwd.stdout_data, "/tmp\n");

        anyio::process_options env;
        env.env = std::map<std::string, std::string>{{"ANYIO_A", "1"}, {"ANYIO_B", "two words"}};
        const auto printed = co_await anyio::run_process(cmd("env"), {}, true, env);
        EXPECT_EQ(printed.stdout_data, "ANYIO_A=1\nANYIO_B=two words\n");

        // /proc/self/stat: pid (comm) state ppid pgrp session ...
        anyio::process_options session;
        session.start_new_session = true;
        const auto own = co_await anyio::run_process(
            cmd("/bin/sh", "-c",
                "read pid comm state ppid pgrp sid rest < /proc/self/stat; "
                "[ \"$pid\" = \"$sid\" ] && [ \"$pid\" = \"$pgrp\" ]"),
            {}, false, session);
        EXPECT_EQ(own.returncode, 0) << "not a session leader";
    });
}

}  // namespace
