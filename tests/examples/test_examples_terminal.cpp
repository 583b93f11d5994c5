// The seed programs under a real terminal's Ctrl+C (a pseudo-terminal whose foreground
// process group they are), pressed twice 0.5 to 1.5 ms apart as an impatient person or a
// bouncing key does: they must never abort, dump core or print "terminate called".

#include <gtest/gtest.h>

#include "support/child_process.hpp"

#include <chrono>
#include <csignal>
#include <random>
#include <string>
#include <thread>

namespace {

constexpr int runs = 96;

struct ending {
    anyio_test::exit_status status;
    std::string output;
};

ending press_ctrl_c_twice(const char* program, std::chrono::microseconds gap) {
    anyio_test::process p({program}, {.pseudo_terminal = true});
    for (std::string line = p.read_line(); line != "ready"; line = p.read_line()) {
    }
    p.press_ctrl_c();
    std::this_thread::sleep_for(gap);  // the gap under test, not a synchronisation
    p.press_ctrl_c();
    ending e;
    e.output = p.read_rest();
    e.status = p.wait();
    return e;
}

void expect_no_crash(const ending& e, int run) {
    EXPECT_FALSE(e.status.hung) << "run " << run;
    EXPECT_FALSE(e.status.core_dumped) << "run " << run;
    EXPECT_NE(e.status.signal, SIGABRT) << "run " << run << ": " << e.output;
    EXPECT_NE(e.status.signal, SIGSEGV) << "run " << run << ": " << e.output;
    EXPECT_EQ(e.output.find("terminate called"), std::string::npos) << e.output;
}

std::chrono::microseconds random_gap(std::mt19937& random) {
    return std::chrono::microseconds(std::uniform_int_distribution<int>(500, 1500)(random));
}

// No receiver of SIGINT: run's Ctrl+C handling cleans up and the program dies by SIGINT
// (whether the second press counts as a second request or not, it is SIGINT either way).
TEST(ExamplesTerminal, ReceiveSignalsDiesBySigintOnADoubleCtrlCAndNeverAborts) {
    std::mt19937 random(20261201);
    for (int run = 0; run < runs; ++run) {
        const ending e = press_ctrl_c_twice(RECEIVE_SIGNALS_EXE, random_gap(random));
        expect_no_crash(e, run);
        EXPECT_EQ(e.status.signal, SIGINT) << "run " << run << ": " << e.status.describe();
        if (::testing::Test::HasFailure()) break;
    }
}

// Its receiver takes the first press, the task group unwinds, main returns: exit 0. The
// second press is the same request from the same sender (the terminal) and changes
// nothing; only if the machine delays its delivery past the request window does it count
// as a new Ctrl+C, and then the program dies by SIGINT. Never anything else.
TEST(ExamplesTerminal, SignalHandlerTaskEndsCleanlyOnADoubleCtrlCAndNeverAborts) {
    std::mt19937 random(20261202);
    int clean_exits = 0;
    for (int run = 0; run < runs; ++run) {
        const ending e = press_ctrl_c_twice(SIGNAL_HANDLER_TASK_EXE, random_gap(random));
        expect_no_crash(e, run);
        EXPECT_TRUE(e.status.ok() || e.status.signal == SIGINT)
            << "run " << run << ": " << e.status.describe() << "\n"
            << e.output;
        EXPECT_NE(e.output.find("Ctrl+C pressed!"), std::string::npos)
            << "run " << run << ": " << e.status.describe() << "\n"
            << e.output;
        EXPECT_NE(e.output.find("worker 1: cleaned up"), std::string::npos) << e.output;
        EXPECT_NE(e.output.find("worker 2: cleaned up"), std::string::npos) << e.output;
        if (e.status.ok()) ++clean_exits;
        if (::testing::Test::HasFailure()) break;
    }
    RecordProperty("clean_exits", clean_exits);
    std::printf("clean exits: %d of %d\n", clean_exits, runs);
}

}  // namespace
