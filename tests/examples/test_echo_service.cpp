// examples/echo_server as a service: what a service manager sees on a real notify socket
// (with the sender's pid from SO_PASSCRED), its health port during a drain, and the real
// systemd-socket-activate handing it its sockets.

#include <gtest/gtest.h>

#include "examples/echo_server_helpers.hpp"
#include "support/child_process.hpp"
#include "support/notify_socket.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

using namespace echo_test;

// $NOTIFY_SOCKET (and optionally $WATCHDOG_USEC) for the programs this test starts.
class manager_environment {
public:
    explicit manager_environment(const anyio_test::notify_socket& manager,
                                 const char* watchdog_usec = nullptr) {
        ::setenv("NOTIFY_SOCKET", manager.address().c_str(), 1);
        if (watchdog_usec != nullptr) ::setenv("WATCHDOG_USEC", watchdog_usec, 1);
    }
    manager_environment(const manager_environment&) = delete;
    manager_environment& operator=(const manager_environment&) = delete;
    ~manager_environment() {
        ::unsetenv("NOTIFY_SOCKET");
        ::unsetenv("WATCHDOG_USEC");
    }
};

// The next message from `pid` other than a watchdog ping; fails the test if none comes.
std::string next_message(anyio_test::notify_socket& manager, pid_t pid) {
    for (;;) {
        std::optional<anyio_test::notify_message> message = manager.receive();
        if (!message) {
            ADD_FAILURE() << "no notification within the hang guard";
            return "";
        }
        EXPECT_EQ(message->sender, pid) << message->text;
        if (message->text != "WATCHDOG=1") return message->text;
    }
}

bool starts_with(const std::string& text, const std::string& prefix) {
    return text.rfind(prefix, 0) == 0;
}

// GET `path` on 127.0.0.1:port: the status line and the body, e.g. "200 ready".
std::string http_get(int port, const std::string& path) {
    client probe(port);
    probe.send("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
    const std::string status_line = probe.read_line();  // "HTTP/1.1 200 OK\r"
    std::string line;
    do {
        line = probe.read_line();
    } while (line != "\r");
    const std::string body = probe.read_line();
    EXPECT_TRUE(probe.at_end()) << "one request per connection";
    return status_line.substr(9, 3) + " " + body;
}

// "health on PORT" -> PORT.
int port_in(const std::string& line, const std::string& announcement) {
    EXPECT_TRUE(starts_with(line, announcement)) << line;
    return std::stoi(line.substr(announcement.size()));
}

TEST(EchoService, TellsTheManagerReadyReloadingAndStoppingFromItsOwnPid) {
    anyio_test::notify_socket manager;
    const manager_environment environment(manager);
    const config_file config("old: ");
    echo_server server({"--port", "0", "--config", config.path()});
    const int port = server.wait_until_listening();
    EXPECT_EQ(next_message(manager, server.pid()),
              "READY=1\nSTATUS=serving on port " + std::to_string(port));

    config.write("new: ");
    server.send(SIGHUP);
    EXPECT_TRUE(starts_with(next_message(manager, server.pid()), "RELOADING=1\nMONOTONIC_USEC="));
    EXPECT_EQ(next_message(manager, server.pid()),
              "READY=1\nSTATUS=serving on port " + std::to_string(port));
    EXPECT_EQ(server.read_line(), "reloaded " + config.path());

    config.remove();
    server.send(SIGHUP);
    EXPECT_TRUE(starts_with(next_message(manager, server.pid()), "RELOADING=1"));
    const std::string refused = next_message(manager, server.pid());
    EXPECT_TRUE(starts_with(refused,
                            "READY=1\nSTATUS=reload failed, keeping the old "
                            "configuration: cannot read "))
        << refused;
    client a(port);
    EXPECT_EQ(a.ask("still"), "new: still");
    a.close();

    server.send(SIGTERM);
    EXPECT_EQ(next_message(manager, server.pid()),
              "STOPPING=1\nSTATUS=stopping (SIGTERM), draining");
    const anyio_test::exit_status status = server.wait();
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(EchoService, TheHealthPortSays503DuringTheDrainWhileConnectionsGetEveryReply) {
    const config_file config("> ");
    echo_server server(
        {"--port", "0", "--config", config.path(), "--health-port", "0", "--grace", "60"});
    const int port = server.wait_until_listening();
    const int health_port = port_in(server.read_line(), "health on ");
    EXPECT_EQ(http_get(health_port, "/readyz"), "200 ready");
    EXPECT_EQ(http_get(health_port, "/livez"), "200 alive");
    EXPECT_EQ(http_get(health_port, "/metrics"), "404 not found");

    client a(port);
    EXPECT_EQ(a.ask("before"), "> before");
    server.send(SIGTERM);
    EXPECT_TRUE(contains(server.read_line(), "terminated: not accepting; 1 open connection(s)"));
    EXPECT_EQ(http_get(health_port, "/readyz"), "503 stopping");
    EXPECT_EQ(http_get(health_port, "/livez"), "200 alive");
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(a.ask("during the drain " + std::to_string(i)),
                  "> during the drain " + std::to_string(i));
    }
    a.close();
    EXPECT_EQ(server.read_line(), "all connections finished");
    const anyio_test::exit_status status = server.wait();
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(EchoService, TheAcceptDelayKeepsAcceptingAfterSigtermUntilASecondRequest) {
    const config_file config("> ");
    echo_server server({"--port", "0", "--config", config.path(), "--health-port", "0",
                        "--accept-delay", "60", "--grace", "60"});
    const int port = server.wait_until_listening();
    const int health_port = port_in(server.read_line(), "health on ");
    server.send(SIGTERM);
    // Readiness fails at once, while connections routed before the endpoint went away
    // are still accepted and served.
    ASSERT_TRUE(
        anyio_test::wait_until([&] { return http_get(health_port, "/readyz") != "200 ready"; }));
    EXPECT_EQ(http_get(health_port, "/readyz"), "503 stopping");
    client late(port);
    EXPECT_EQ(late.ask("routed before the endpoint was removed"),
              "> routed before the endpoint was removed");
    // Another sender's SIGTERM is a second request: no more delay, no more grace.
    anyio_test::process kill_command({"/bin/kill", "-TERM", std::to_string(server.pid())});
    EXPECT_TRUE(kill_command.wait().ok());
    EXPECT_TRUE(contains(server.read_line(), "terminated: not accepting"));
    EXPECT_EQ(server.read_line(), "grace period over: cancelled the remaining connection(s)");
    const anyio_test::exit_status status = server.wait();
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(EchoService, TheWatchdogStopsWhileTheProcessIsStuckAndResumesAfter) {
    anyio_test::notify_socket manager;
    const manager_environment environment(manager, "40000");  // a ping every 20 ms
    const config_file config("> ");
    echo_server server({"--port", "0", "--config", config.path()});
    server.wait_until_listening();
    for (int pings = 0; pings < 3;) {
        std::optional<anyio_test::notify_message> message = manager.receive();
        ASSERT_TRUE(message);
        EXPECT_EQ(message->sender, server.pid());
        if (message->text == "WATCHDOG=1") ++pings;
    }
    // A stopped process is the stuck loop we can make from outside: no pings while it is.
    server.send(SIGSTOP);
    ASSERT_TRUE(anyio_test::wait_until([&] {
        std::ifstream stat("/proc/" + std::to_string(server.pid()) + "/stat");
        std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
        const std::size_t end_of_name = text.rfind(')');
        return end_of_name != std::string::npos && text.substr(end_of_name + 2, 1) == "T";
    }));
    while (manager.receive(std::chrono::milliseconds(0))) {
    }
    EXPECT_FALSE(manager.receive(std::chrono::milliseconds(200)))
        << "a ping from a stopped process";
    server.send(SIGCONT);
    std::optional<anyio_test::notify_message> resumed = manager.receive_containing("WATCHDOG=1");
    ASSERT_TRUE(resumed);
    server.send(SIGTERM);
    EXPECT_TRUE(server.wait().ok());
}

// A free port on 127.0.0.1 at the moment of asking (another process may take it before it
// is used: the caller retries).
int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    socklen_t size = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
    ::close(fd);
    return ntohs(address.sin_port);
}

TEST(EchoService, ServesTheSocketsSystemdSocketActivatePassesByName) {
    anyio_test::notify_socket manager;
    const config_file config("activated> ");
    for (int attempt = 0; attempt < 20; ++attempt) {
        const int port = free_port();
        const int health_port = free_port();
        if (port == health_port) continue;
        // The names go in the order of the -l options: health first, to show that the
        // program finds "echo" by name, not by position.
        anyio_test::process activator(
            {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1", "systemd-socket-activate", "-l",
             "127.0.0.1:" + std::to_string(health_port), "-l", "127.0.0.1:" + std::to_string(port),
             "--fdname=health:echo", "-E", "NOTIFY_SOCKET=" + manager.address(), ECHO_SERVER_EXE,
             "--config", config.path()});
        const std::string first = activator.read_line();
        if (!contains(first, "Listening on")) {
            // The port was taken between free_port() and the bind: try other ports.
            activator.wait();
            continue;
        }
        EXPECT_TRUE(contains(activator.read_line(), "Listening on"));
        // systemd-socket-activate starts the program at the first connection, which then
        // waits in the backlog of the socket the program is handed.
        client a(port);
        std::string line = activator.read_line();
        while (contains(line, "Communication attempt") || contains(line, "Execing")) {
            line = activator.read_line();
        }
        EXPECT_EQ(line, "listening on " + std::to_string(port));
        EXPECT_EQ(activator.read_line(), "health on " + std::to_string(health_port));
        EXPECT_EQ(next_message(manager, activator.pid()),
                  "READY=1\nSTATUS=serving on port " + std::to_string(port));
        EXPECT_EQ(a.ask("first"), "activated> first");
        client b(port);
        EXPECT_EQ(b.ask("second"), "activated> second");
        EXPECT_EQ(http_get(health_port, "/readyz"), "200 ready");
        a.close();
        b.close();
        activator.send(SIGTERM);
        EXPECT_TRUE(starts_with(next_message(manager, activator.pid()), "STOPPING=1"));
        EXPECT_TRUE(activator.wait().ok());
        return;
    }
    FAIL() << "no free pair of ports in 20 attempts";
}

}  // namespace
