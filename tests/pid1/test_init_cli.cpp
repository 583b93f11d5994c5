// anyio-init's command line against dumb-init's (installed by scripts/install_deps.sh):
// the same exit status for each bad input, and a message that says what is wrong. Job
// control under a pseudo-terminal: SIGTSTP stops the child and the init, SIGCONT resumes
// both.

#include <gtest/gtest.h>

#include "support/child_process.hpp"

#include <csignal>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

struct outcome {
    anyio_test::exit_status status;
    std::string output;  // stdout and stderr
};

outcome run(std::vector<std::string> argv) {
    anyio_test::process p(argv, {.capture_stderr = true});
    outcome o;
    o.output = p.read_rest();
    o.status = p.wait();
    return o;
}

std::vector<std::string> with(const std::string& program, std::vector<std::string> args) {
    args.insert(args.begin(), program);
    return args;
}

struct bad_input {
    std::vector<std::string> args;
    std::string message;  // what anyio-init must say
};

TEST(InitCli, BadInputGetsDumbInitsExitStatusAndAClearMessage) {
    ASSERT_EQ(::access(DUMB_INIT_EXE, X_OK), 0)
        << DUMB_INIT_EXE << " is missing: scripts/install_deps.sh installs dumb-init";
    const std::vector<bad_input> cases = {
        {{}, "Usage:"},
        {{"--bogus", "true"}, "unrecognized option '--bogus'"},
        {{"-x", "true"}, "invalid option -- 'x'"},
        {{"-r"}, "option requires an argument -- 'r'"},
        {{"-r", "99:3", "true"}, "-r option takes <signum>:<signum>"},
        {{"-r", "15:99", "true"}, "-r option takes <signum>:<signum>"},
        {{"-r", "0:3", "true"}, "-r option takes <signum>:<signum>"},
        {{"-r", "15", "true"}, "-r option takes <signum>:<signum>"},
        {{"-r", "x:y", "true"}, "-r option takes <signum>:<signum>"},
        {{"/nonexistent/command"}, "/nonexistent/command: No such file or directory"},
        {{"/etc/passwd"}, "/etc/passwd: Permission denied"},
        {{"-V"}, "v1.2.5"},
        {{"--help"}, "--single-child"},
    };
    for (const bad_input& c : cases) {
        std::string described;
        for (const auto& a : c.args)
            described += " " + a;
        const outcome theirs = run(with(DUMB_INIT_EXE, c.args));
        const outcome ours = run(with(ANYIO_INIT_EXE, c.args));
        ASSERT_TRUE(theirs.status.exited) << described;
        EXPECT_TRUE(ours.status.exited) << described << ": " << ours.status.describe();
        EXPECT_EQ(ours.status.code, theirs.status.code) << "anyio-init" << described << "\n"
                                                        << ours.output;
        EXPECT_NE(ours.output.find(c.message), std::string::npos)
            << "anyio-init" << described << " printed:\n"
            << ours.output;
    }
}

TEST(InitCli, VerboseLogsTheChildAndItsStatus) {
    const outcome o = run({ANYIO_INIT_EXE, "-v", PID1_CHILD_EXE, "exit", "3"});
    EXPECT_EQ(o.status.code, 3);
    EXPECT_NE(o.output.find("[anyio-init] Child spawned with PID "), std::string::npos) << o.output;
    EXPECT_NE(o.output.find("[anyio-init] Child exited with status 3. Goodbye."), std::string::npos)
        << o.output;
}

TEST(InitCli, DumbInitSetsidZeroMeansSingleChild) {
    ::setenv("DUMB_INIT_SETSID", "0", 1);
    const outcome o = run({ANYIO_INIT_EXE, "-v", "sh", "-c", "exit 0"});
    ::unsetenv("DUMB_INIT_SETSID");
    EXPECT_EQ(o.status.code, 0);
    // In a new session the init ends the child's group after it: not in single-child mode.
    EXPECT_EQ(o.output.find("Forwarded signal 15"), std::string::npos) << o.output;
    const outcome with_setsid = run({ANYIO_INIT_EXE, "-v", "sh", "-c", "exit 0"});
    EXPECT_NE(with_setsid.output.find("Forwarded signal 15"), std::string::npos)
        << with_setsid.output;
}

char state_of(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto paren = text.rfind(')');
    return paren == std::string::npos || paren + 2 >= text.size() ? '?' : text[paren + 2];
}

pid_t only_child_of(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
    long child = 0;
    in >> child;
    return static_cast<pid_t>(child);
}

// The init runs on a terminal (its session leader and foreground group); the child is in
// a session of its own, where SIGTSTP at its default would not stop it, so the init
// forwards SIGSTOP and stops itself; SIGCONT resumes the init, which forwards it.
TEST(InitCli, JobControlUnderAPseudoTerminalStopsAndResumesChildAndInit) {
    anyio_test::process init({ANYIO_INIT_EXE, PID1_CHILD_EXE, "signals"},
                             {.pseudo_terminal = true});
    EXPECT_EQ(init.read_line(), "ready");
    const pid_t child = only_child_of(init.pid());
    ASSERT_GT(child, 0);
    init.send(SIGTSTP);
    EXPECT_TRUE(anyio_test::wait_until([&] { return state_of(init.pid()) == 'T'; }))
        << "the init did not stop";
    EXPECT_TRUE(anyio_test::wait_until([&] { return state_of(child) == 'T'; }))
        << "the child did not stop";
    init.send(SIGCONT);
    EXPECT_EQ(init.read_line(), "got 18");  // the forwarded SIGCONT
    EXPECT_NE(state_of(child), 'T');
    init.send(SIGTERM);
    (void)init.read_rest();
    EXPECT_EQ(init.wait().code, 128 + SIGTERM);
}

}  // namespace
