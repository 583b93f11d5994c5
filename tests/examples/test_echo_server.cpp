// examples/echo_server end to end: the real program as a child process, real TCP clients
// on loopback, real SIGHUP / SIGTERM / SIGINT.

#include <gtest/gtest.h>

#include "examples/echo_server_helpers.hpp"
#include "process/process_helpers.hpp"
#include "support/child_process.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using namespace echo_test;

TEST(EchoServer, RepliesToEveryLineWithThePrefix) {
    const config_file config("hi> ");
    echo_server server({"--port", "0", "--config", config.path()});
    const int port = server.wait_until_listening();
    EXPECT_GT(port, 0);
    client a(port);
    client b(port);
    EXPECT_EQ(a.ask("one"), "hi> one");
    EXPECT_EQ(b.ask("two"), "hi> two");
    a.send("three\nfour\nfi");  // several lines at once, and a line in two pieces
    EXPECT_EQ(a.read_line(), "hi> three");
    EXPECT_EQ(a.read_line(), "hi> four");
    a.send("ve\n");
    EXPECT_EQ(a.read_line(), "hi> five");
    b.send("no newline");
    b.send_eof();
    EXPECT_EQ(b.read_line(), "hi> no newline");
    EXPECT_TRUE(b.at_end());
    server.send(SIGTERM);
}

TEST(EchoServer, SighupRereadsTheConfigForLinesReceivedAfterwards) {
    const config_file config("old: ");
    echo_server server({"--port", "0", "--config", config.path()});
    const int port = server.wait_until_listening();
    client a(port);
    EXPECT_EQ(a.ask("before"), "old: before");
    config.write("new: ");
    server.send(SIGHUP);
    EXPECT_EQ(server.read_line(), "reloaded " + config.path());
    EXPECT_EQ(a.ask("after"), "new: after");
    client b(port);
    EXPECT_EQ(b.ask("fresh client"), "new: fresh client");
}

TEST(EchoServer, SighupWithTheConfigGoneKeepsTheOldPrefixAndSaysWhy) {
    const config_file config("kept: ");
    echo_server server({"--port", "0", "--config", config.path()});
    const int port = server.wait_until_listening();
    client a(port);
    config.remove();
    server.send(SIGHUP);
    const std::string complaint = server.read_line();
    EXPECT_TRUE(contains(complaint, "cannot reload " + config.path())) << complaint;
    EXPECT_TRUE(contains(complaint, "No such file or directory")) << complaint;
    EXPECT_TRUE(contains(complaint, "keeping the old prefix")) << complaint;
    EXPECT_EQ(a.ask("still"), "kept: still");
    // And a later good file is picked up again.
    config.write("back: ");
    server.send(SIGHUP);
    EXPECT_EQ(server.read_line(), "reloaded " + config.path());
    EXPECT_EQ(a.ask("again"), "back: again");
}

// A server with prefix "> " and the given grace period, and one client that got a reply
// and stays connected.
struct server_and_client {
    explicit server_and_client(const std::string& grace)
        : server({"--port", "0", "--config", config.path(), "--grace", grace}),
          port(server.wait_until_listening()),
          a(port) {
        EXPECT_EQ(a.ask("hello"), "> hello");
    }
    config_file config{"> "};
    echo_server server;
    int port;
    client a;
};

// SIGTERM / SIGINT with a client connected: the listener closes at once, the client still
// gets replies during the grace period, and the server exits 0 as soon as it leaves (the
// grace is 60 s, the hang guard 30 s: only the client's leaving can end it in time).
void check_graceful_stop(int signo, const std::string& announcement) {
    server_and_client s("60");
    echo_server& server = s.server;
    client& a = s.a;
    const int port = s.port;
    server.send(signo);
    const std::string line = server.read_line();
    EXPECT_TRUE(contains(line, announcement + ": not accepting; 1 open connection(s)")) << line;
    EXPECT_EQ(client::try_connect(port), ECONNREFUSED) << "new connections are refused";
    EXPECT_EQ(a.ask("during the grace"), "> during the grace");
    a.close();
    EXPECT_EQ(server.read_line(), "all connections finished");
    EXPECT_EQ(server.read_rest(), "");
    const anyio_test::exit_status status = server.wait();
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(EchoServer, SigtermStopsAcceptingAndExitsZeroOnceOpenConnectionsFinish) {
    check_graceful_stop(SIGTERM, "terminated");
}

TEST(EchoServer, CtrlCStopsAcceptingAndExitsZeroOnceOpenConnectionsFinish) {
    check_graceful_stop(SIGINT, "interrupted");
}

TEST(EchoServer, AfterTheGracePeriodRemainingConnectionsAreCancelledAndItExitsZero) {
    server_and_client s("1");
    echo_server& server = s.server;
    client& idle = s.a;
    server.send(SIGTERM);
    EXPECT_TRUE(contains(server.read_line(), "have 1 s to finish"));
    EXPECT_EQ(server.read_line(), "grace period over: cancelled the remaining connection(s)");
    EXPECT_TRUE(idle.at_end()) << "the server closed the connection";
    const anyio_test::exit_status status = server.wait();
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(EchoServer, ASecondSignalEndsTheGracePeriodAtOnce) {
    server_and_client s("60");
    echo_server& server = s.server;
    server.send(SIGTERM);
    EXPECT_TRUE(contains(server.read_line(), "terminated: not accepting"));
    server.send(SIGINT);
    EXPECT_EQ(server.read_line(), "grace period over: cancelled the remaining connection(s)");
    const anyio_test::exit_status status = server.wait();
    EXPECT_TRUE(status.ok()) << status.describe();
}

// coreutils `timeout` sends SIGTERM to the server and then to its process group, so the
// server often gets two SIGTERMs from one sender 0.2 ms apart: one request, which must not
// cut the grace period short. SIGALRM is what timeout's own timer sends it; sending it
// ourselves makes timeout act at once instead of after a wall-clock wait.
TEST(EchoServer, UnderCoreutilsTimeoutTheGracePeriodHolds) {
    const config_file config("> ");
    for (int run = 0; run < 50; ++run) {
        anyio_test::process timeout({"/usr/bin/timeout", "3600", ECHO_SERVER_EXE, "--port", "0",
                                     "--config", config.path(), "--grace", "60"},
                                    {.capture_stderr = true});
        const std::string listening = timeout.read_line();
        ASSERT_EQ(listening.rfind("listening on ", 0), 0U) << listening;
        client a(std::stoi(listening.substr(13)));
        EXPECT_EQ(a.ask("hello"), "> hello");
        // timeout stores the server's pid after fork() returns; a SIGALRM before that would
        // end timeout alone. Once it waits in rt_sigsuspend, it has.
        ASSERT_TRUE(anyio_test::wait_until_in_syscall(timeout.pid(), SYS_rt_sigsuspend));
        timeout.send(SIGALRM);  // "time is up": timeout signals the server, then the group
        const std::string line = timeout.read_line();
        EXPECT_TRUE(contains(line, "terminated: not accepting; 1 open connection(s)")) << line;
        EXPECT_EQ(a.ask("during the grace"), "> during the grace") << "run " << run;
        a.close();
        EXPECT_EQ(timeout.read_line(), "all connections finished") << "run " << run;
        EXPECT_EQ(timeout.read_rest(), "");
        const anyio_test::exit_status status = timeout.wait();
        EXPECT_TRUE(status.exited && status.code == 124) << status.describe();  // timed out
        if (::testing::Test::HasFailure()) break;
    }
}

// Another sender's SIGTERM is a second request: the grace period ends at once.
TEST(EchoServer, ASigtermFromAnotherSenderEndsTheGracePeriod) {
    server_and_client s("60");
    s.server.send(SIGTERM);
    EXPECT_TRUE(contains(s.server.read_line(), "terminated: not accepting"));
    anyio_test::process kill_command({"/bin/kill", "-TERM", std::to_string(s.server.pid())});
    EXPECT_TRUE(kill_command.wait().ok());
    EXPECT_EQ(s.server.read_line(), "grace period over: cancelled the remaining connection(s)");
    const anyio_test::exit_status status = s.server.wait();
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(EchoServer, BadArgumentsPrintTheUsageAndExitWith2) {
    const config_file config("> ");
    const std::vector<std::vector<std::string>> bad = {
        {},
        {"--port", "0"},
        {"--config", config.path()},
        {"--port", "http", "--config", config.path()},
        {"--port", "65536", "--config", config.path()},
        {"--port", "0", "--config", config.path(), "--grace", "-1"},
        {"--port", "0", "--config", config.path(), "--grace"},
        {"--port", "0", "--config", config.path(), "--verbose", "1"},
        {"--port", "0", "--config", config.path(), "--accept-delay", "-1"},
        {"--port", "0", "--config", config.path(), "--accept-delay", "soon"},
        {"--port", "0", "--config", config.path(), "--health-port", "70000"},
        {"--port", "0", "--config", config.path(), "--grace", "1e300"},
    };
    for (const auto& args : bad) {
        echo_server server(args);
        const std::string output = server.read_rest();
        const anyio_test::exit_status status = server.wait();
        EXPECT_TRUE(status.exited && status.code == 2) << status.describe();
        EXPECT_TRUE(contains(output, "usage: echo_server --config FILE")) << output;
    }
}

TEST(EchoServer, AMissingConfigAtStartIsAnErrorNamingIt) {
    const config_file config("> ");
    config.remove();
    echo_server server({"--port", "0", "--config", config.path()});
    const std::string output = server.read_rest();
    const anyio_test::exit_status status = server.wait();
    EXPECT_TRUE(status.exited && status.code == 1) << status.describe();
    EXPECT_TRUE(contains(output, "cannot read " + config.path())) << output;
}

// --- Lines longer than the cap (--max-line, default 64 KiB) ---

constexpr std::size_t default_max_line = 65536;
constexpr std::size_t mib = std::size_t{1} << 20;

std::string too_long_reply(std::size_t max_line) {
    return "error: line longer than " + std::to_string(max_line) + " bytes";
}

// A line as a failure message shows it: lines of 64 KiB would flood the log.
std::string shortened(const std::string& line) {
    if (line.size() <= 80) return '"' + line + '"';
    return '"' + line.substr(0, 40) + "...\" (" + std::to_string(line.size()) + " bytes)";
}

void expect_line(client& c, const std::string& expected) {
    const std::string line = c.read_line();
    EXPECT_TRUE(line == expected) << "got " << shortened(line) << ", expected "
                                  << shortened(expected);
}

// The client got the error reply, then the server hung up on it.
void expect_refused(client& c, std::size_t max_line) {
    expect_line(c, too_long_reply(max_line));
    EXPECT_TRUE(c.at_end()) << "the server closed the connection";
}

TEST(EchoServer, ALineOfExactlyTheCapIsEchoedOneByteMoreGetsAnErrorAndAClose) {
    const config_file config("> ");
    echo_server server({"--port", "0", "--config", config.path()});
    const int port = server.wait_until_listening();
    const std::string at_cap(default_max_line, 'a');

    client a(port);
    a.send(at_cap + "\n");
    expect_line(a, "> " + at_cap);
    EXPECT_EQ(a.ask("and the next line"), "> and the next line");
    a.send(at_cap);  // the cap also holds for a last line without a newline
    a.send_eof();
    expect_line(a, "> " + at_cap);
    EXPECT_TRUE(a.at_end());

    client b(port);
    EXPECT_EQ(b.ask("short"), "> short");
    // A line before the long one in the same send is still answered.
    const std::string input = "fine\n" + at_cap + "b\n";
    EXPECT_GE(b.send_until_closed(input), input.size() - 1);
    EXPECT_EQ(b.read_line(), "> fine");
    expect_refused(b, default_max_line);
    EXPECT_TRUE(contains(server.read_line(), too_long_reply(default_max_line).substr(7)));

    client c(port);
    EXPECT_EQ(c.ask("the server still serves"), "> the server still serves");
}

// 100 MiB without a newline: the server refuses the line after the cap and hangs up, so
// it never holds the line: its peak resident memory grows by far less than was sent.
TEST(EchoServer, AnEndlessLineIsCutAtTheCapAndTheServerMemoryStaysBounded) {
    const config_file config("> ");
    echo_server server({"--port", "0", "--config", config.path()});
    const int port = server.wait_until_listening();
    client other(port);
    EXPECT_EQ(other.ask("warm up"), "> warm up");
    const long peak_before = server.memory_kib("VmHWM");

    const std::size_t total = 100 * mib;
    client flood(port);
    const std::size_t sent = flood.stream_endless_line(total);
    expect_refused(flood, default_max_line);
    EXPECT_LT(sent, total) << "the server hung up before taking the whole line";
    EXPECT_TRUE(contains(server.read_line(), too_long_reply(default_max_line).substr(7)));

    EXPECT_EQ(other.ask("still here"), "> still here");
    const long peak_after = server.memory_kib("VmHWM");
    const long growth_kib = peak_after - peak_before;
    RecordProperty("sent_bytes", std::to_string(sent));
    RecordProperty("vmhwm_before_kib", std::to_string(peak_before));
    RecordProperty("vmhwm_after_kib", std::to_string(peak_after));
    std::printf("sent %zu bytes; server VmHWM %ld kB -> %ld kB (+%ld kB), VmRSS %ld kB\n", sent,
                peak_before, peak_after, growth_kib, server.memory_kib("VmRSS"));
    EXPECT_LT(growth_kib, 16 * 1024) << "VmHWM " << peak_before << " kB -> " << peak_after
                                     << " kB after a client sent " << sent << " bytes";
}

// Correctness only (no timing): a client in the middle of a huge line holds nobody up.
TEST(EchoServer, OtherClientsAreServedWhileOneSendsAHugeLine) {
    const config_file config("> ");
    echo_server server({"--port", "0", "--config", config.path()});
    const int port = server.wait_until_listening();
    client flood(port);
    client other(port);

    // Up to one byte under the cap, in steps, with round trips in between.
    flood.send(std::string(default_max_line / 2, 'x'));
    EXPECT_EQ(other.ask("one"), "> one");
    flood.send(std::string(default_max_line / 2 - 1, 'x'));
    EXPECT_EQ(other.ask("two"), "> two");

    // Then 100 MiB more from another thread, while this one keeps asking.
    std::atomic<bool> flood_done{false};
    std::jthread flooder([&] {
        (void)flood.stream_endless_line(100 * mib);
        flood_done = true;
    });
    int round_trips = 0;
    do {
        const std::string line = "during " + std::to_string(round_trips++);
        EXPECT_EQ(other.ask(line), "> " + line);
    } while (!flood_done && !HasFailure());
    flooder.join();
    expect_refused(flood, default_max_line);
    EXPECT_EQ(other.ask("after"), "> after");
    RecordProperty("round_trips_during_the_flood", round_trips);
}

TEST(EchoServer, MaxLineSetsTheCap) {
    const config_file config("> ");
    echo_server server({"--port", "0", "--config", config.path(), "--max-line", "10"});
    const int port = server.wait_until_listening();
    client a(port);
    EXPECT_EQ(a.ask("0123456789"), "> 0123456789");
    EXPECT_EQ(a.ask(""), "> ");
    EXPECT_GE(a.send_until_closed("01234567890\n"), 11u);
    expect_refused(a, 10);

    client b(port);  // refused as soon as the 11th byte arrives, before any newline
    EXPECT_EQ(b.send_until_closed("abcdefghijk"), 11u);
    expect_refused(b, 10);

    client c(port);  // a long line is fine up to the cap, also split over several sends
    EXPECT_EQ(c.ask("01234"), "> 01234");
    c.send("01234");
    EXPECT_EQ(c.ask("56789"), "> 0123456789");
}

TEST(EchoServer, ABadMaxLineIsAUsageErrorNamingIt) {
    const config_file config("> ");
    for (const std::string value : {"0", "-1", "", "ten", "10k", " ", "99999999999999999999999"}) {
        echo_server server({"--port", "0", "--config", config.path(), "--max-line", value});
        const std::string output = server.read_rest();
        const anyio_test::exit_status status = server.wait();
        EXPECT_TRUE(status.exited && status.code == 2) << value << ": " << status.describe();
        EXPECT_TRUE(contains(output, "--max-line wants a number of bytes >= 1, not \"" + value))
            << output;
        EXPECT_TRUE(contains(output, "usage: echo_server --config FILE")) << output;
        EXPECT_TRUE(contains(output, "[--max-line BYTES]")) << output;
    }
}

}  // namespace
