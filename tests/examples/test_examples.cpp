// The seed programs in examples/, run as real child processes and driven with real
// signals, checked by what they print and how they exit.

#include <gtest/gtest.h>

#include "support/child_process.hpp"

#include <algorithm>
#include <csignal>
#include <cstddef>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

std::string joined(const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& line : lines)
        text += "    " + line + "\n";
    return text;
}

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

// --- receive_signals: reload on SIGHUP, return on SIGTERM -----------------------------

TEST(Examples, ReceiveSignalsReloadsTheConfigurationOnEachSighup) {
    anyio_test::process program({RECEIVE_SIGNALS_EXE});
    ASSERT_EQ(program.read_line(), "ready");
    for (int i = 0; i < 3; ++i) {
        // One at a time: signals sent before the previous one was handled may coalesce.
        program.send(SIGHUP);
        EXPECT_EQ(program.read_line(), "Reloading configuration") << "after SIGHUP " << i + 1;
    }
    program.send(SIGTERM);
    EXPECT_EQ(program.read_rest(), "");
    const anyio_test::exit_status status = program.wait();
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(Examples, ReceiveSignalsReturnsOnSigtermWithStatusZeroAndNoMoreOutput) {
    anyio_test::process program({RECEIVE_SIGNALS_EXE});
    ASSERT_EQ(program.read_line(), "ready");
    program.send(SIGTERM);
    EXPECT_EQ(program.read_rest(), "");
    const anyio_test::exit_status status = program.wait();
    EXPECT_TRUE(status.ok()) << status.describe();
}

// --- signal_handler_task: a handler task cancels the application on SIGINT/SIGTERM ----

// Starts signal_handler_task, waits until its handler is ready and both workers ticked,
// sends `signo`, and checks that it printed `announcement` (and not `other`), that both
// workers then cleaned up exactly once and stopped ticking, and that it exited with 0.
void check_shutdown_by(int signo, const std::string& announcement, const std::string& other) {
    anyio_test::process program({SIGNAL_HANDLER_TASK_EXE});
    bool ready = false;
    bool ticked[3] = {false, false, false};
    while (!(ready && ticked[1] && ticked[2])) {
        const std::string line = program.read_line();
        ready = ready || line == "ready";
        for (int n = 1; n <= 2; ++n) {
            if (starts_with(line, "worker " + std::to_string(n) + ": tick ")) ticked[n] = true;
        }
    }
    program.send(signo);
    const std::vector<std::string> lines = lines_of(program.read_rest());
    const anyio_test::exit_status status = program.wait();
    const std::string output = joined(lines);

    EXPECT_TRUE(status.ok()) << status.describe() << "; output after the signal:\n" << output;
    const auto announced = std::find(lines.begin(), lines.end(), announcement);
    ASSERT_NE(announced, lines.end()) << output;
    EXPECT_EQ(std::count(lines.begin(), lines.end(), announcement), 1) << output;
    EXPECT_EQ(std::count(lines.begin(), lines.end(), other), 0) << output;
    for (int n = 1; n <= 2; ++n) {
        const std::string worker = "worker " + std::to_string(n) + ": ";
        const std::string cleaned_up = worker + "cleaned up";
        const auto cleanup = std::find(lines.begin(), lines.end(), cleaned_up);
        ASSERT_NE(cleanup, lines.end()) << cleaned_up << " missing from:\n" << output;
        EXPECT_EQ(std::count(lines.begin(), lines.end(), cleaned_up), 1) << output;
        EXPECT_GT(cleanup, announced) << cleaned_up << " before " << announcement << ":\n"
                                      << output;
        EXPECT_TRUE(
            std::none_of(cleanup, lines.end(),
                         [&](const std::string& l) { return starts_with(l, worker + "tick "); }))
            << "worker " << n << " ticked after its cleanup:\n"
            << output;
    }
    // Nothing else: no error messages, no "terminate called ...".
    for (const auto& line : lines) {
        const bool known = line == announcement || starts_with(line, "worker 1: ") ||
                           starts_with(line, "worker 2: ");
        EXPECT_TRUE(known) << "unexpected line \"" << line << "\" in:\n" << output;
    }
}

TEST(Examples, SignalHandlerTaskOnCtrlCCancelsTheWorkersWhoCleanUpThenExitsWithZero) {
    check_shutdown_by(SIGINT, "Ctrl+C pressed!", "Terminated!");
}

TEST(Examples, SignalHandlerTaskOnSigtermCancelsTheWorkersWhoCleanUpThenExitsWithZero) {
    check_shutdown_by(SIGTERM, "Terminated!", "Ctrl+C pressed!");
}

}  // namespace
