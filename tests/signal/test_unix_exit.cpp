// How a signal ends a program built on anyio::run (issue: "Ctrl+C ends a program the Unix
// way"): after all cleanup ran, the process dies by the signal, whether main lets
// keyboard_interrupt escape from plain run, uses run_main, or runs a blocking portal; no
// "terminate called", no SIGABRT, no core dump. Where the kernel will not kill by the
// signal (the init of a PID namespace), the exit status is 128 + signo. Real programs
// (tests/programs/interrupt_target.cpp), real signals: a pseudo-terminal's Ctrl+C, kill
// from a shell's child, unshare --pid.

#include <gtest/gtest.h>

#include "support/child_process.hpp"

#include <csignal>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/types.h>
#include <unistd.h>

namespace {

using anyio_test::expect_no_crash_text;

const std::string target = INTERRUPT_TARGET_EXE;

// The first child process of `parent` (a shell or unshare running the target).
pid_t child_of(pid_t parent) {
    pid_t child = 0;
    const std::string path =
        "/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/children";
    anyio_test::wait_until([&] {
        std::ifstream in(path);
        return static_cast<bool>(in >> child);
    });
    return child;
}

void expect_ctrl_c_kills_by_sigint_after_cleanup(const std::string& mode) {
    anyio_test::process program({target, mode}, {.pseudo_terminal = true});
    ASSERT_EQ(program.read_line(), "ready");
    program.press_ctrl_c();
    const std::string rest = program.read_rest();
    const anyio_test::exit_status status = program.wait();
    EXPECT_EQ(status.signal, SIGINT) << mode << ": " << status.describe() << "\n" << rest;
    EXPECT_FALSE(status.core_dumped);
    EXPECT_EQ(rest, "cleanup\n") << mode;
    expect_no_crash_text(rest);
}

TEST(UnixExit, CtrlCOnPlainRunDiesBySigintAfterCleanupWithoutAbort) {
    expect_ctrl_c_kills_by_sigint_after_cleanup("run");
}

TEST(UnixExit, CtrlCOnRunMainDiesBySigintAfterCleanup) {
    expect_ctrl_c_kills_by_sigint_after_cleanup("run_main");
}

TEST(UnixExit, CtrlCOnRunBesideABlockingPortalDiesBySigintAfterCleanup) {
    expect_ctrl_c_kills_by_sigint_after_cleanup("portal_run");
}

// A portal's loop leaves Ctrl+C to the program: with main blocked in a call, SIGINT keeps
// its default action, which is death by SIGINT too (never an abort).
TEST(UnixExit, CtrlCWhileMainWaitsInABlockingPortalCallDiesBySigint) {
    anyio_test::process program({target, "portal_call"}, {.pseudo_terminal = true});
    ASSERT_EQ(program.read_line(), "ready");
    program.press_ctrl_c();
    const std::string rest = program.read_rest();
    const anyio_test::exit_status status = program.wait();
    EXPECT_EQ(status.signal, SIGINT) << status.describe();
    EXPECT_FALSE(status.core_dumped);
    expect_no_crash_text(rest);
}

TEST(UnixExit, AProgramThatCatchesKeyboardInterruptKeepsControl) {
    anyio_test::process program({target, "catches"}, {.pseudo_terminal = true});
    ASSERT_EQ(program.read_line(), "ready");
    program.press_ctrl_c();
    EXPECT_EQ(program.read_rest(), "cleanup\ncaught\n");
    const anyio_test::exit_status status = program.wait();
    EXPECT_TRUE(status.exited && status.code == 7) << status.describe();
}

// Output on a pipe is fully buffered: "cleanup" arrives only because the exit path flushes.
TEST(UnixExit, GracefulSigtermThroughRunOptionsDiesBySigtermAfterCleanup) {
    anyio_test::process program({target, "sigterm"}, {.capture_stderr = true});
    ASSERT_EQ(program.read_line(), "ready");
    program.send(SIGTERM);
    const std::string rest = program.read_rest();
    const anyio_test::exit_status status = program.wait();
    EXPECT_EQ(status.signal, SIGTERM) << status.describe();
    EXPECT_FALSE(status.core_dumped);
    EXPECT_EQ(rest, "cleanup\n");
}

// What a user sees in a shell: $? is 130 and nothing odd is printed.
TEST(UnixExit, AShellSeesStatus130AndNothingElse) {
    anyio_test::process shell({"/bin/sh", "-c", "\"$0\" run; echo \"status=$?\"", target},
                              {.capture_stderr = true});
    ASSERT_EQ(shell.read_line(), "ready");
    ASSERT_EQ(::kill(child_of(shell.pid()), SIGINT), 0);
    EXPECT_EQ(shell.read_rest(), "cleanup\nstatus=130\n");
    EXPECT_TRUE(shell.wait().ok());
}

// As PID 1 of a PID namespace (a container's init) a signal at its default disposition
// does not kill, so the status says it: 130 for Ctrl+C, 143 for SIGTERM.
void expect_pid1_exit_status(const std::string& mode, int signo, int expected_code) {
    if (::geteuid() != 0) GTEST_SKIP() << "unshare --pid needs root";
    anyio_test::process unshare(
        {"/usr/bin/unshare", "--pid", "--fork", "--kill-child", target, mode},
        {.capture_stderr = true});
    std::string first;
    try {
        first = unshare.read_line();
    } catch (const std::exception& e) {
        GTEST_SKIP() << "unshare --pid is not allowed here: " << e.what();
    }
    ASSERT_EQ(first, "ready");
    ASSERT_EQ(::kill(child_of(unshare.pid()), signo), 0);
    const std::string rest = unshare.read_rest();
    const anyio_test::exit_status status = unshare.wait();
    EXPECT_TRUE(status.exited && status.code == expected_code)
        << mode << ": " << status.describe() << "\n"
        << rest;
    EXPECT_EQ(rest, "cleanup\n");
    expect_no_crash_text(rest);
}

TEST(UnixExit, AsPid1CtrlCOnPlainRunExitsWith130) {
    expect_pid1_exit_status("run", SIGINT, 130);
}

TEST(UnixExit, AsPid1CtrlCOnRunMainExitsWith130) {
    expect_pid1_exit_status("run_main", SIGINT, 130);
}

TEST(UnixExit, AsPid1GracefulSigtermExitsWith143) {
    expect_pid1_exit_status("sigterm", SIGTERM, 143);
}

}  // namespace
