// UNIX stream sockets: echo, addresses, the socket file's life, stale files, errors.

#include <anyio/anyio.hpp>

#include "net/net_helpers.hpp"
#include "support/run_helpers.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using anyio_test::run_autojump;
using anyio_test::run_guarded;

namespace fs = std::filesystem;

// A fresh directory for socket files.
class socket_dir : public anyio_test::temp_dir {
public:
    socket_dir() : temp_dir("anyio-unix") {}
};

// A socket file with nobody listening: what a crashed server leaves behind.
void leave_stale_socket_file(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path.copy(address.sun_path, sizeof address.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    ::close(fd);  // the file stays
    ASSERT_TRUE(fs::is_socket(path));
}

// A client connects to `path`, the listener accepts it, and `text` goes through.
anyio::task<> expect_a_connection_works(anyio::unix_listener& listener, const std::string& path,
                                        const std::string& text) {
    auto client = co_await anyio::connect_unix(path);
    auto server = co_await listener.accept();
    co_await client.send(text);
    const std::string got = co_await server.receive();
    EXPECT_EQ(got, text);
}

TEST(UnixSocket, ConnectAcceptAndEcho) {
    const socket_dir dir;
    const std::string path = dir.file("echo.sock");
    run_guarded([&]() -> anyio::task<> {
        auto listener = co_await anyio::create_unix_listener(path);
        EXPECT_EQ(listener.path(), path);
        EXPECT_EQ(listener.local_address().to_string(), path);
        EXPECT_EQ(listener.local_address().family(), AF_UNIX);
        EXPECT_TRUE(fs::is_socket(path));
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> { co_await listener.serve(anyio_test::echo); });
            for (int i = 0; i < 20; ++i) {
                auto client = co_await anyio::connect_unix(path);
                EXPECT_EQ(client.remote_address().to_string(), path);
                EXPECT_EQ(client.local_address().to_string(), "") << "an unnamed client";
                co_await client.send("line " + std::to_string(i) + "\n");
                const std::string got = co_await anyio_test::receive_line(client);
                EXPECT_EQ(got, "line " + std::to_string(i));
            }
            co_await listener.aclose();
        });
    });
}

TEST(UnixSocket, ClosingTheListenerRemovesItsSocketFile) {
    const socket_dir dir;
    const std::string path = dir.file("gone.sock");
    run_guarded([&]() -> anyio::task<> {
        auto listener = co_await anyio::create_unix_listener(path);
        EXPECT_TRUE(fs::exists(path));
        co_await listener.aclose();
        EXPECT_FALSE(fs::exists(path));
        bool caught = false;
        try {
            (void)co_await anyio::connect_unix(path);
        } catch (const anyio::connect_error& e) {
            caught = true;
            EXPECT_EQ(e.code().value(), ENOENT);
            EXPECT_EQ(e.address().to_string(), path);
            EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
        }
        EXPECT_TRUE(caught);
    });
}

TEST(UnixSocket, AStaleSocketFileIsReplaced) {
    const socket_dir dir;
    const std::string path = dir.file("stale.sock");
    leave_stale_socket_file(path);
    run_guarded([&]() -> anyio::task<> {
        bool connect_refused = false;
        try {
            (void)co_await anyio::connect_unix(path);
        } catch (const anyio::connect_error& e) {
            connect_refused = e.code().value() == ECONNREFUSED;
        }
        EXPECT_TRUE(connect_refused);
        auto listener = co_await anyio::create_unix_listener(path);
        co_await expect_a_connection_works(listener, path, "fresh");
    });
}

TEST(UnixSocket, ALiveListenersPathOrAnotherFileIsNotTaken) {
    const socket_dir dir;
    const std::string path = dir.file("live.sock");
    const std::string regular = dir.file("regular-file");
    std::ofstream(regular) << "keep me";
    run_guarded([&]() -> anyio::task<> {
        auto first = co_await anyio::create_unix_listener(path);
        int in_use = 0;
        for (const std::string& p : {path, regular}) {
            try {
                (void)co_await anyio::create_unix_listener(p);
            } catch (const std::system_error& e) {
                if (e.code().value() == EADDRINUSE) ++in_use;
                EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
            }
        }
        EXPECT_EQ(in_use, 2);
        EXPECT_TRUE(fs::is_regular_file(regular));
        // The first listener still works. It saw the second one's probe as a connection
        // that ended at once.
        auto probe = co_await first.accept();
        char byte = 0;
        bool probe_ended = false;
        try {
            (void)co_await probe.receive_into(std::span<char>(&byte, 1));
        } catch (const anyio::end_of_stream&) {
            probe_ended = true;
        }
        EXPECT_TRUE(probe_ended);
        co_await expect_a_connection_works(first, path, "ok");
    });
}

TEST(UnixSocket, AFileThatReplacedTheSocketIsLeftAloneAtClose) {
    const socket_dir dir;
    const std::string path = dir.file("replaced.sock");
    run_guarded([&]() -> anyio::task<> {
        auto listener = co_await anyio::create_unix_listener(path);
        fs::remove(path);
        std::ofstream(path) << "someone else's";
        co_await listener.aclose();
        EXPECT_TRUE(fs::is_regular_file(path));
    });
}

TEST(UnixSocket, AbstractNamesNeedNoFile) {
    run_guarded([]() -> anyio::task<> {
        const std::string name = "@anyio-test-" + std::to_string(::getpid());
        auto listener = co_await anyio::create_unix_listener(name);
        EXPECT_EQ(listener.path(), name);
        auto client = co_await anyio::connect_unix(name);
        auto server = co_await listener.accept();
        EXPECT_EQ(client.remote_address().to_string(), name);
        co_await client.send("abstract");
        const std::string got = co_await server.receive();
        EXPECT_EQ(got, "abstract");
    });
}

TEST(UnixSocket, BadPathsAreRefused) {
    run_guarded([]() -> anyio::task<> {
        int refused = 0;
        const std::string too_long(200, 'x');
        for (const std::string& path : {std::string(), too_long, std::string("a\0b", 3)}) {
            try {
                (void)co_await anyio::connect_unix(path);
            } catch (const std::invalid_argument&) {
                ++refused;
            }
            try {
                (void)co_await anyio::create_unix_listener(path);
            } catch (const std::invalid_argument&) {
                ++refused;
            }
        }
        EXPECT_EQ(refused, 6);
    });
}

TEST(UnixSocket, ConnectWaitsWhileTheBacklogIsFullAndCancelsCleanly) {
    const socket_dir dir;
    const std::string path = dir.file("full.sock");
    run_autojump([&]() -> anyio::task<> {
        auto listener = co_await anyio::create_unix_listener(path, 1);
        std::vector<anyio::socket_stream> queued;
        for (;;) {
            anyio::socket_stream client;
            const bool connected = co_await anyio::move_on_after(
                100ms, [&]() -> anyio::task<> { client = co_await anyio::connect_unix(path); });
            if (!connected) break;
            queued.push_back(std::move(client));
            if (queued.size() > 1000) {
                ADD_FAILURE() << "the backlog never filled up";
                co_return;
            }
        }
        const std::size_t fds = anyio_test::open_fd_count();
        const bool connected = co_await anyio::move_on_after(
            50ms, [&]() -> anyio::task<> { (void)co_await anyio::connect_unix(path); });
        EXPECT_FALSE(connected);
        EXPECT_EQ(anyio_test::open_fd_count(), fds) << "the cancelled connect closed its socket";
        // A connect waiting for room gets in once one queued connection is accepted.
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                auto late = co_await anyio::connect_unix(path);
                co_await late.send("got in");
            });
            co_await anyio::sleep(20ms);
            std::vector<anyio::socket_stream> accepted;
            for (std::size_t i = 0; i <= queued.size(); ++i)
                accepted.push_back(co_await listener.accept());
            const std::string got = co_await accepted.back().receive();
            EXPECT_EQ(got, "got in");
        });
    });
}

}  // namespace
