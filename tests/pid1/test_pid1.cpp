// Programs as PID 1 of a new PID namespace (`unshare --pid --fork --mount-proc`, which
// needs root: the machines that run these tests are root): the library's exits by a
// signal, orphan reaping, and anyio-init, checked against what dumb-init does. Signals are
// sent from outside the namespace to the namespace's init (its pid out here), after the
// program printed "ready".

#include <gtest/gtest.h>

#include "support/child_process.hpp"

#include <algorithm>
#include <csignal>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

std::vector<std::string> in_new_pid_namespace(std::vector<std::string> argv) {
    argv.insert(argv.begin(), {UNSHARE_EXE, "--pid", "--fork", "--mount-proc"});
    return argv;
}

std::vector<pid_t> children_of(pid_t pid) {
    std::vector<pid_t> result;
    std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
    for (long child = 0; in >> child;)
        result.push_back(static_cast<pid_t>(child));
    return result;
}

// unshare's only child: the namespace's PID 1, as numbered out here.
pid_t namespace_init(const anyio_test::process& unshare) {
    const std::vector<pid_t> children = children_of(unshare.pid());
    if (children.size() != 1) throw std::runtime_error("unshare has no single child");
    return children.front();
}

char state_of(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto paren = text.rfind(')');
    return paren == std::string::npos || paren + 2 >= text.size() ? '?' : text[paren + 2];
}

std::size_t zombie_children(pid_t pid) {
    const std::vector<pid_t> children = children_of(pid);
    return static_cast<std::size_t>(std::count_if(
        children.begin(), children.end(), [](pid_t child) { return state_of(child) == 'Z'; }));
}

void read_until(anyio_test::process& p, const std::string& wanted) {
    for (std::string line = p.read_line(); line != wanted; line = p.read_line()) {
    }
}

// The machines run the tests as root; a machine where unshare cannot make a PID namespace
// must say so loudly rather than pass.
TEST(Pid1, UnshareMakesAPidNamespaceHere) {
    anyio_test::process p(in_new_pid_namespace({"/bin/sh", "-c", "echo $$"}));
    EXPECT_EQ(p.read_line(), "1");
    const anyio_test::exit_status status = p.wait();
    EXPECT_TRUE(status.ok()) << status.describe() << " (is this root? unshare needs it)";
}

// --- the examples as PID 1 ----------------------------------------------------------

anyio_test::exit_status stop_example(const char* program, int signo, std::string& output) {
    anyio_test::process p(in_new_pid_namespace({program}), {.capture_stderr = true});
    read_until(p, "ready");
    EXPECT_EQ(::kill(namespace_init(p), signo), 0);
    output = p.read_rest();
    anyio_test::expect_no_crash_text(output);
    return p.wait();
}

TEST(Pid1, ReceiveSignalsReturnsOnSigterm) {
    std::string output;
    const auto status = stop_example(RECEIVE_SIGNALS_EXE, SIGTERM, output);
    EXPECT_TRUE(status.ok()) << status.describe() << "\n" << output;
}

// No receiver of SIGINT: run's Ctrl+C handling, then "death by SIGINT", which PID 1
// cannot die: exit status 128 + 2.
TEST(Pid1, ReceiveSignalsExitsWith130OnSigint) {
    std::string output;
    const auto status = stop_example(RECEIVE_SIGNALS_EXE, SIGINT, output);
    EXPECT_TRUE(status.exited) << status.describe() << "\n" << output;
    EXPECT_EQ(status.code, 128 + SIGINT) << output;
}

TEST(Pid1, SignalHandlerTaskCleansUpOnSigintAndSigterm) {
    for (const int signo : {SIGINT, SIGTERM}) {
        std::string output;
        const auto status = stop_example(SIGNAL_HANDLER_TASK_EXE, signo, output);
        EXPECT_TRUE(status.ok()) << status.describe() << "\n" << output;
        EXPECT_NE(output.find("worker 1: cleaned up"), std::string::npos) << output;
        EXPECT_NE(output.find("worker 2: cleaned up"), std::string::npos) << output;
    }
}

// --- the library's own exits by a signal --------------------------------------------

// A SIGTERM left in a receiver that closes is sent to the process again for the restored
// default disposition; the kernel drops that for PID 1, so the library exits 128 + 15.
TEST(Pid1, SignalPendingInAClosingReceiverEndsPid1With143) {
    anyio_test::process p(in_new_pid_namespace({PID1_PROBE_EXE, "pending-term"}));
    read_until(p, "ready");
    const pid_t init = namespace_init(p);
    ASSERT_EQ(::kill(init, SIGTERM), 0);
    ASSERT_EQ(::kill(init, SIGUSR1), 0);
    const std::string rest = p.read_rest();
    EXPECT_EQ(rest, "") << "the program went on after its SIGTERM";
    const auto status = p.wait();
    EXPECT_TRUE(status.exited) << status.describe();
    EXPECT_EQ(status.code, 128 + SIGTERM);
}

TEST(Pid1, RunMainExitsWith130AfterCleanupOnSigint) {
    anyio_test::process p(in_new_pid_namespace({PID1_PROBE_EXE, "ctrl-c"}));
    read_until(p, "ready");
    ASSERT_EQ(::kill(namespace_init(p), SIGINT), 0);
    EXPECT_EQ(p.read_rest(), "cleaned up\n");
    const auto status = p.wait();
    EXPECT_TRUE(status.exited) << status.describe();
    EXPECT_EQ(status.code, 128 + SIGINT);
}

// --- reaping ----------------------------------------------------------------------

// 1,000 grandchildren orphaned to a plain anyio::run program that is PID 1: none is left
// a zombie, and the child it started with open_process still reports its own status.
TEST(Pid1, LibraryProgramReapsAThousandOrphansAndKeepsItsChildsStatus) {
    anyio_test::process p(
        in_new_pid_namespace({PID1_PROBE_EXE, "orphans", PID1_CHILD_EXE, "1000"}));
    EXPECT_EQ(p.read_line(), "orphans exited");
    EXPECT_EQ(p.read_line(), "child status 7");
    read_until(p, "ready");
    const pid_t init = namespace_init(p);
    EXPECT_TRUE(anyio_test::wait_until([&] { return children_of(init).empty(); }))
        << zombie_children(init) << " zombies left";
    ASSERT_EQ(::kill(init, SIGTERM), 0);
    EXPECT_EQ(p.read_rest(), "");
    EXPECT_TRUE(p.wait().ok());
}

TEST(Pid1, InitReapsAThousandOrphans) {
    anyio_test::process p(
        in_new_pid_namespace({ANYIO_INIT_EXE, PID1_CHILD_EXE, "orphans-then-signals", "1000"}));
    EXPECT_EQ(p.read_line(), "orphans exited");
    EXPECT_EQ(p.read_line(), "ready");
    const pid_t init = namespace_init(p);
    EXPECT_TRUE(anyio_test::wait_until([&] { return children_of(init).size() == 1; }))
        << zombie_children(init) << " zombies left";
    EXPECT_EQ(zombie_children(init), 0U);
    ASSERT_EQ(::kill(init, SIGTERM), 0);
    EXPECT_EQ(p.read_rest(), "");
    const auto status = p.wait();
    EXPECT_TRUE(status.exited) << status.describe();
    EXPECT_EQ(status.code, 128 + SIGTERM);
}

// --- anyio-init -----------------------------------------------------------------

TEST(Pid1, InitForwardsSigtermAndExitsWithTheChildsSignalStatus) {
    anyio_test::process p(in_new_pid_namespace({ANYIO_INIT_EXE, PID1_CHILD_EXE, "signals"}));
    read_until(p, "ready");
    ASSERT_EQ(::kill(namespace_init(p), SIGTERM), 0);
    EXPECT_EQ(p.read_rest(), "");
    const auto status = p.wait();
    EXPECT_TRUE(status.exited) << status.describe();
    EXPECT_EQ(status.code, 128 + SIGTERM);
}

TEST(Pid1, InitForwardsSigintToTheChild) {
    anyio_test::process p(in_new_pid_namespace({ANYIO_INIT_EXE, PID1_CHILD_EXE, "signals"}));
    read_until(p, "ready");
    ASSERT_EQ(::kill(namespace_init(p), SIGINT), 0);
    EXPECT_EQ(p.read_rest(), "got 2\n");
    const auto status = p.wait();
    EXPECT_EQ(status.code, 128 + SIGINT) << status.describe();
}

TEST(Pid1, InitExitsWithTheChildsExitCode) {
    anyio_test::process p(in_new_pid_namespace({ANYIO_INIT_EXE, PID1_CHILD_EXE, "exit", "42"}));
    const auto status = p.wait();
    EXPECT_TRUE(status.exited) << status.describe();
    EXPECT_EQ(status.code, 42);
}

// Default mode: every member of the child's process group gets the signal, grandchildren
// included; -c: only the child.
TEST(Pid1, InitForwardsToTheWholeProcessGroup) {
    constexpr int members = 5;
    anyio_test::process p(
        in_new_pid_namespace({ANYIO_INIT_EXE, PID1_CHILD_EXE, "group", std::to_string(members)}));
    for (int ready = 0; ready < members + 1;) {
        const std::string line = p.read_line();
        if (line.ends_with("ready")) ++ready;
    }
    const pid_t init = namespace_init(p);
    ASSERT_EQ(::kill(init, SIGUSR1), 0);
    std::vector<std::string> got;
    while (got.size() < members + 1)
        got.push_back(p.read_line());
    std::sort(got.begin(), got.end());
    std::vector<std::string> expected{"got 10"};
    for (int i = 1; i <= members; ++i)
        expected.push_back("member " + std::to_string(i) + " got 10");
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(got, expected);
    ASSERT_EQ(::kill(init, SIGTERM), 0);
    (void)p.read_rest();
    EXPECT_EQ(p.wait().code, 128 + SIGTERM);
}

TEST(Pid1, InitSingleChildForwardsToTheChildOnly) {
    anyio_test::process p(
        in_new_pid_namespace({ANYIO_INIT_EXE, "-c", PID1_CHILD_EXE, "group", "1"}));
    for (int ready = 0; ready < 2;) {
        if (p.read_line().ends_with("ready")) ++ready;
    }
    const pid_t init = namespace_init(p);
    ASSERT_EQ(::kill(init, SIGUSR1), 0);
    EXPECT_EQ(p.read_line(), "got 10");
    ASSERT_EQ(::kill(init, SIGUSR2), 0);
    EXPECT_EQ(p.read_line(), "got 12");  // not "member 1 got 10" in between
    ASSERT_EQ(::kill(init, SIGTERM), 0);
    (void)p.read_rest();  // the member, orphaned to PID 1, dies with the namespace
    EXPECT_EQ(p.wait().code, 128 + SIGTERM);
}

TEST(Pid1, InitRewritesSigtermToSigquit) {
    anyio_test::process p(
        in_new_pid_namespace({ANYIO_INIT_EXE, "--rewrite", "15:3", PID1_CHILD_EXE, "signals"}));
    read_until(p, "ready");
    ASSERT_EQ(::kill(namespace_init(p), SIGTERM), 0);
    EXPECT_EQ(p.read_rest(), "got 3\n");
    EXPECT_EQ(p.wait().code, 128 + SIGQUIT);
}

TEST(Pid1, InitDropsASignalRewrittenToZero) {
    anyio_test::process p(
        in_new_pid_namespace({ANYIO_INIT_EXE, "-r", "10:0", PID1_CHILD_EXE, "signals"}));
    read_until(p, "ready");
    const pid_t init = namespace_init(p);
    ASSERT_EQ(::kill(init, SIGUSR1), 0);
    ASSERT_EQ(::kill(init, SIGUSR2), 0);
    EXPECT_EQ(p.read_line(), "got 12");  // SIGUSR1 never reached it
    ASSERT_EQ(::kill(init, SIGTERM), 0);
    EXPECT_EQ(p.read_rest(), "");
    EXPECT_EQ(p.wait().code, 128 + SIGTERM);
}

}  // namespace
