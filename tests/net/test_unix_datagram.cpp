// UNIX datagram sockets against a python3 peer: bound, unbound, connected and abstract
// sockets, sender paths, the socket file's life, large datagrams, a full receiver, errors,
// cancellation and descriptors.

#include <anyio/anyio.hpp>

#include "net/net_helpers.hpp"
#include "support/child_process.hpp"
#include "support/run_helpers.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <sys/socket.h>

namespace {

using namespace std::chrono_literals;
using anyio_test::run_guarded;
namespace fs = std::filesystem;

class socket_dir : public anyio_test::temp_dir {
public:
    socket_dir() : temp_dir("anyio-dgram") {}
};

// A python3 peer bound at argv[1]: prints "ready", then answers every datagram with
// "echo:" and the datagram (to the sender's path, when it has one) and prints the sender's
// path ("-" for none), until it receives "quit".
const char* const python_echo = R"(
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print('ready', flush=True)
while True:
    data, sender = s.recvfrom(300000)
    if data == b'quit':
        break
    print(sender or '-', len(data), flush=True)
    if sender:
        s.sendto(b'echo:' + data, sender)
print('bye', flush=True)
)";

TEST(UnixDatagram, BoundSocketWithPythonPeer) {
    const socket_dir dir;
    const std::string peer_path = dir.file("peer.sock");
    const std::string my_path = dir.file("me.sock");
    anyio_test::process peer({"/usr/bin/python3", "-c", python_echo, peer_path});
    ASSERT_EQ(peer.read_line(), "ready");
    run_guarded([&]() -> anyio::task<> {
        auto socket = co_await anyio::create_unix_datagram_socket(my_path);
        EXPECT_EQ(socket.local_address().to_string(), my_path);
        EXPECT_TRUE(fs::is_socket(my_path));
        for (const std::string payload : {"one", "", "three"}) {
            co_await socket.send_to(payload, peer_path);
            anyio::datagram reply = co_await socket.receive_from();
            EXPECT_EQ(reply.data, "echo:" + payload);
            EXPECT_EQ(reply.sender.family(), AF_UNIX);
            EXPECT_EQ(reply.sender.to_string(), peer_path);
        }
        co_await socket.send_to("quit", peer_path);
        co_await socket.aclose();
        EXPECT_TRUE(fs::is_socket(my_path)) << "the socket file stays after close";
    });
    EXPECT_EQ(peer.read_line(), my_path + " 3");
    EXPECT_EQ(peer.read_line(), my_path + " 0");
    EXPECT_EQ(peer.read_line(), my_path + " 5");
    EXPECT_EQ(peer.read_line(), "bye");
}

TEST(UnixDatagram, ConnectedSocketWithPythonPeer) {
    const socket_dir dir;
    const std::string peer_path = dir.file("peer.sock");
    const std::string my_path = dir.file("me.sock");
    anyio_test::process peer({"/usr/bin/python3", "-c", python_echo, peer_path});
    ASSERT_EQ(peer.read_line(), "ready");
    run_guarded([&]() -> anyio::task<> {
        auto socket = co_await anyio::create_connected_unix_datagram_socket(peer_path, my_path);
        EXPECT_EQ(socket.remote_address().to_string(), peer_path);
        EXPECT_EQ(socket.local_address().to_string(), my_path);
        for (int i = 0; i < 5; ++i) {
            co_await socket.send("n" + std::to_string(i));
            const std::string reply = co_await socket.receive();
            EXPECT_EQ(reply, "echo:n" + std::to_string(i));
        }
        co_await socket.send("quit");
    });
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(peer.read_line(), my_path + " 2");
    EXPECT_EQ(peer.read_line(), "bye");
}

// An unbound socket's datagrams arrive with an empty sender.
TEST(UnixDatagram, UnboundSenderHasNoAddress) {
    const socket_dir dir;
    const std::string peer_path = dir.file("peer.sock");
    anyio_test::process peer({"/usr/bin/python3", "-c", python_echo, peer_path});
    ASSERT_EQ(peer.read_line(), "ready");
    run_guarded([&]() -> anyio::task<> {
        auto unbound = co_await anyio::create_unix_datagram_socket();
        EXPECT_EQ(unbound.local_address().to_string(), "");
        co_await unbound.send_to("hi", peer_path);
        auto receiver = co_await anyio::create_unix_datagram_socket(dir.file("r.sock"));
        co_await unbound.send_to("direct", dir.file("r.sock"));
        anyio::datagram got = co_await receiver.receive_from();
        EXPECT_EQ(got.data, "direct");
        EXPECT_EQ(got.sender.to_string(), "");
        co_await unbound.send_to("quit", peer_path);
    });
    EXPECT_EQ(peer.read_line(), "- 2");
    EXPECT_EQ(peer.read_line(), "bye");
}

TEST(UnixDatagram, AbstractNames) {
    run_guarded([]() -> anyio::task<> {
        const std::string name = "@anyio-dgram-test-" + std::to_string(::getpid());
        auto a = co_await anyio::create_unix_datagram_socket(name);
        auto b = co_await anyio::create_unix_datagram_socket(name + "-b");
        EXPECT_EQ(a.local_address().to_string(), name);
        co_await b.send_to("abstract", name);
        anyio::datagram got = co_await a.receive_from();
        EXPECT_EQ(got.data, "abstract");
        EXPECT_EQ(got.sender.to_string(), name + "-b");
    });
}

// Nothing is removed: an existing file (a stale socket file included) makes the bind fail.
TEST(UnixDatagram, ExistingFilesAreNeverRemoved) {
    const socket_dir dir;
    const std::string regular = dir.file("regular");
    std::ofstream(regular) << "keep me";
    const std::string socket_path = dir.file("left.sock");
    run_guarded([&]() -> anyio::task<> {
        {
            auto first = co_await anyio::create_unix_datagram_socket(socket_path);
        }  // closed: its file stays
        EXPECT_TRUE(fs::is_socket(socket_path));
        for (const std::string& path : {regular, socket_path}) {
            bool in_use = false;
            try {
                (void)co_await anyio::create_unix_datagram_socket(path);
            } catch (const std::system_error& e) {
                in_use = e.code().value() == EADDRINUSE;
                EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
            }
            EXPECT_TRUE(in_use) << path;
        }
        fs::remove(socket_path);  // the caller's decision
        auto again = co_await anyio::create_unix_datagram_socket(socket_path);
        EXPECT_TRUE(again.is_open());
    });
    std::ifstream in(regular);
    std::string text;
    std::getline(in, text);
    EXPECT_EQ(text, "keep me");
}

TEST(UnixDatagram, LargeDatagramsAreWholeOrRefused) {
    const socket_dir dir;
    run_guarded([&]() -> anyio::task<> {
        auto receiver = co_await anyio::create_unix_datagram_socket(dir.file("r.sock"));
        auto sender = co_await anyio::create_connected_unix_datagram_socket(dir.file("r.sock"));
        const std::string large(100000, 'L');
        co_await sender.send(large);
        co_await sender.send(large);
        bool refused = false;
        try {
            (void)co_await receiver.receive_from();  // default max_bytes 65536
        } catch (const std::system_error& e) {
            refused = e.code().value() == EMSGSIZE;
            EXPECT_NE(std::string(e.what()).find("100000 bytes"), std::string::npos) << e.what();
        }
        EXPECT_TRUE(refused);
        anyio::datagram got = co_await receiver.receive_from(large.size());
        EXPECT_EQ(got.data, large);
        bool too_large = false;
        try {
            co_await sender.send(std::string(4 << 20, 'x'));
        } catch (const std::system_error& e) {
            too_large = e.code().value() == EMSGSIZE;
            EXPECT_NE(std::string(e.what()).find(std::to_string(4 << 20) + " bytes"),
                      std::string::npos)
                << e.what();
        }
        EXPECT_TRUE(too_large);
    });
}

// More datagrams than the receiver's queue holds: unconnected and connected senders wait
// for room (no datagram lost, nothing spins forever), while the receiver's reads are
// cancelled again and again.
TEST(UnixDatagram, FullReceiverMakesSendersWaitAndNothingIsLost) {
    const socket_dir dir;
    run_guarded([&]() -> anyio::task<> {
        const std::string path = dir.file("r.sock");
        auto receiver = co_await anyio::create_unix_datagram_socket(path);
        auto unconnected = co_await anyio::create_unix_datagram_socket();
        auto connected = co_await anyio::create_connected_unix_datagram_socket(path);
        constexpr int per_sender = 2000;
        std::vector<int> from_unconnected;
        std::vector<int> from_connected;
        int cut_short = 0;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                for (int i = 0; i < per_sender; ++i)
                    co_await unconnected.send_to("u" + std::to_string(i), path);
            });
            tg.start_soon([&]() -> anyio::task<> {
                for (int i = 0; i < per_sender; ++i)
                    co_await connected.send("c" + std::to_string(i));
            });
            while (from_unconnected.size() + from_connected.size() < 2 * per_sender) {
                anyio::datagram d;
                const bool finished = co_await anyio::move_on_after(
                    20us, [&]() -> anyio::task<> { d = co_await receiver.receive_from(); });
                if (!finished) {
                    ++cut_short;
                    continue;
                }
                (d.data[0] == 'u' ? from_unconnected : from_connected)
                    .push_back(std::stoi(d.data.substr(1)));
            }
        });
        for (const std::vector<int>* got : {&from_unconnected, &from_connected}) {
            EXPECT_EQ(got->size(), static_cast<std::size_t>(per_sender));
            if (got->size() != static_cast<std::size_t>(per_sender)) continue;
            for (int i = 0; i < per_sender; ++i)
                EXPECT_EQ((*got)[static_cast<std::size_t>(i)], i);
        }
        EXPECT_GT(cut_short, 0);
    });
}

// The receiver's queue is full of another socket's datagrams: the kernel then wakes no
// epoll waiter of ours when room appears (none of the queued datagrams is ours), so the
// send must retry on its own; it completes once the receiver has drained the queue.
TEST(UnixDatagram, SendWaitsOutAQueueFilledByOthers) {
    const socket_dir dir;
    run_guarded([&]() -> anyio::task<> {
        const std::string path = dir.file("r.sock");
        auto receiver = co_await anyio::create_unix_datagram_socket(path);
        auto filler = co_await anyio::create_unix_datagram_socket();
        const anyio::socket_address target = receiver.local_address();
        int queued = 0;
        // Raw non-blocking sends until the receiver's queue refuses one.
        while (::sendto(filler.native_handle(), "f", 1, MSG_DONTWAIT, target.native(),
                        target.native_size()) == 1)
            ++queued;
        EXPECT_EQ(errno, EAGAIN);
        EXPECT_GT(queued, 0);
        auto sender = co_await anyio::create_unix_datagram_socket();
        bool sent = false;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await sender.send_to("mine", path);
                sent = true;
            });
            co_await anyio_test::settle();
            EXPECT_FALSE(sent) << "the queue was full";
            for (int i = 0; i < queued; ++i) {
                anyio::datagram d = co_await receiver.receive_from();
                EXPECT_EQ(d.data, "f");
            }
            anyio::datagram mine = co_await receiver.receive_from();
            EXPECT_EQ(mine.data, "mine");
        });
        EXPECT_TRUE(sent);
    });
}

TEST(UnixDatagram, Errors) {
    const socket_dir dir;
    run_guarded([&]() -> anyio::task<> {
        auto socket = co_await anyio::create_unix_datagram_socket();
        int invalid = 0;
        for (int attempt = 0; attempt < 4; ++attempt) {
            try {
                if (attempt == 0) co_await socket.send_to("x", std::string(200, 'p'));
                if (attempt == 1) co_await socket.send_to("x", "");
                if (attempt == 2) (void)co_await anyio::create_connected_unix_datagram_socket("");
                if (attempt == 3) {
                    auto udp = co_await anyio::create_udp_socket("127.0.0.1", 0);
                    co_await socket.send_to("x", udp.local_address());
                }
            } catch (const std::invalid_argument&) {
                ++invalid;
            }
        }
        EXPECT_EQ(invalid, 4);
        const std::string missing = dir.file("missing.sock");
        bool no_such_file = false;
        try {
            co_await socket.send_to("x", missing);
        } catch (const std::system_error& e) {
            no_such_file = e.code().value() == ENOENT;
            EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
        }
        EXPECT_TRUE(no_such_file);
        bool connect_failed = false;
        try {
            (void)co_await anyio::create_connected_unix_datagram_socket(missing,
                                                                        dir.file("mine.sock"));
        } catch (const anyio::connect_error& e) {
            connect_failed = e.code().value() == ENOENT;
            EXPECT_EQ(e.address().to_string(), missing);
        }
        EXPECT_TRUE(connect_failed);
        EXPECT_FALSE(fs::exists(dir.file("mine.sock"))) << "a failed call leaves no file";
        // A stream socket at the path is the wrong kind.
        auto listener = co_await anyio::create_unix_listener(dir.file("stream.sock"));
        bool wrong_type = false;
        try {
            (void)co_await anyio::create_connected_unix_datagram_socket(dir.file("stream.sock"));
        } catch (const anyio::connect_error& e) {
            wrong_type = e.code().value() == EPROTOTYPE;
        }
        EXPECT_TRUE(wrong_type);
        // The peer closed: a send is refused.
        auto peer = co_await anyio::create_unix_datagram_socket(dir.file("peer.sock"));
        auto connected =
            co_await anyio::create_connected_unix_datagram_socket(dir.file("peer.sock"));
        co_await connected.send("first");
        peer.close();
        bool refused = false;
        try {
            co_await connected.send("second");
        } catch (const std::system_error& e) {
            refused = e.code().value() == ECONNREFUSED;
        }
        EXPECT_TRUE(refused);
    });
}

TEST(UnixDatagram, ClosedAndBusy) {
    const socket_dir dir;
    run_guarded([&]() -> anyio::task<> {
        auto socket = co_await anyio::create_unix_datagram_socket(dir.file("s.sock"));
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            bool first_closed = false;
            tg.start_soon([&]() -> anyio::task<> {
                try {
                    (void)co_await socket.receive_from();
                } catch (const anyio::closed_resource_error&) {
                    first_closed = true;
                }
            });
            co_await anyio_test::settle();
            bool busy = false;
            try {
                (void)co_await socket.receive_from();
            } catch (const anyio::busy_resource_error&) {
                busy = true;
            }
            EXPECT_TRUE(busy);
            socket.close();
            co_await anyio_test::settle();
            EXPECT_TRUE(first_closed);
        });
        bool closed = false;
        try {
            co_await socket.send_to("x", dir.file("s.sock"));
        } catch (const anyio::closed_resource_error&) {
            closed = true;
        }
        EXPECT_TRUE(closed);
    });
}

TEST(UnixDatagram, NoDescriptorLeaks) {
    const socket_dir dir;
    const std::size_t before = anyio_test::open_fd_count();
    run_guarded([&]() -> anyio::task<> {
        for (int round = 0; round < 20; ++round) {
            const std::string path = dir.file("r" + std::to_string(round) + ".sock");
            auto receiver = co_await anyio::create_unix_datagram_socket(path);
            try {
                (void)co_await anyio::create_unix_datagram_socket(path);
            } catch (const std::system_error&) {
            }
            try {
                (void)co_await anyio::create_connected_unix_datagram_socket(dir.file("none"),
                                                                            dir.file("x.sock"));
            } catch (const anyio::connect_error&) {
            }
            auto sender = co_await anyio::create_connected_unix_datagram_socket(path);
            (void)co_await anyio::move_on_after(
                1ms, [&]() -> anyio::task<> { (void)co_await receiver.receive_from(); });
            co_await sender.send("x");
            (void)co_await receiver.receive_from();
        }
    });
    EXPECT_EQ(anyio_test::open_fd_count(), before);
}

}  // namespace
