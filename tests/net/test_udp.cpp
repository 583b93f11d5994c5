// UDP sockets against real peers (python3 and socat) on IPv4 and IPv6 loopback: bound and
// connected sockets, sender addresses, oversize datagrams, bad addresses, closed and busy
// sockets, cancellation that loses nothing, no descriptor leaked.

#include <anyio/anyio.hpp>

#include "net/net_helpers.hpp"
#include "support/child_process.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <sys/socket.h>

namespace {

using namespace std::chrono_literals;
using anyio_test::run_guarded;

// A python3 UDP peer on `host`: prints its port, then answers every datagram with "echo:"
// and the datagram, and prints "<sender port> <size>" for it, until it receives "quit".
const char* const python_echo = R"(
import socket, sys
host = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((host, 0))
print(s.getsockname()[1], flush=True)
while True:
    data, sender = s.recvfrom(70000)
    if data == b'quit':
        break
    print(sender[1], len(data), flush=True)
    s.sendto(b'echo:' + data, sender)
print('bye', flush=True)
)";

struct python_peer {
    explicit python_peer(const std::string& host)
        : program({"/usr/bin/python3", "-c", python_echo, host}),
          port(std::stoi(program.read_line())) {}
    anyio_test::process program;
    int port;
};

bool skip_without_ipv6() {
    return !anyio_test::ipv6_loopback_available();
}

template <class F>
bool throws_errno(int expected, F&& what) {
    try {
        what();
    } catch (const std::system_error& e) {
        return e.code().value() == expected;
    }
    return false;
}

// What a bound socket sends to a python peer comes back, with the peer as sender; the
// datagrams keep their boundaries (an empty one and a large one included).
void bound_socket_with_python_peer(const std::string& host) {
    python_peer peer(host);
    int my_port = 0;
    const std::vector<std::string> payloads = {"hello", "", std::string(60000, 'x'), "last"};
    run_guarded([&]() -> anyio::task<> {
        auto socket = co_await anyio::create_udp_socket(host, 0);
        my_port = socket.local_port();
        EXPECT_NE(my_port, 0);
        EXPECT_EQ(socket.local_address().host(), host);
        for (const std::string& payload : payloads) {
            co_await socket.send_to(payload, host, peer.port);
            anyio::datagram reply = co_await socket.receive_from();
            EXPECT_EQ(reply.data.size(), payload.size() + 5);
            EXPECT_EQ(reply.data, "echo:" + payload);
            EXPECT_EQ(reply.sender.host(), host);
            EXPECT_EQ(reply.sender.port(), peer.port);
            // Answering the sender address as received also works.
            co_await socket.send_to("again", reply.sender);
            reply = co_await socket.receive_from();
            EXPECT_EQ(reply.data, "echo:again");
        }
        co_await socket.send_to("quit", host, peer.port);
    });
    for (const std::string& payload : payloads) {
        EXPECT_EQ(peer.program.read_line(),
                  std::to_string(my_port) + " " + std::to_string(payload.size()));
        EXPECT_EQ(peer.program.read_line(), std::to_string(my_port) + " 5");
    }
    EXPECT_EQ(peer.program.read_line(), "bye");
    EXPECT_TRUE(peer.program.wait().ok());
}

TEST(Udp, BoundSocketWithPythonPeerIPv4) {
    bound_socket_with_python_peer("127.0.0.1");
}

TEST(Udp, BoundSocketWithPythonPeerIPv6) {
    if (skip_without_ipv6()) GTEST_SKIP() << "no IPv6 loopback";
    bound_socket_with_python_peer("::1");
}

void connected_socket_with_python_peer(const std::string& host, int family) {
    python_peer peer(host);
    int my_port = 0;
    run_guarded([&]() -> anyio::task<> {
        auto socket = co_await anyio::create_connected_udp_socket(host, peer.port);
        my_port = socket.local_port();
        EXPECT_EQ(socket.remote_address().host(), host);
        EXPECT_EQ(socket.remote_address().port(), peer.port);
        EXPECT_EQ(socket.local_address().family(), family);
        for (int i = 0; i < 10; ++i) {
            co_await socket.send("datagram " + std::to_string(i));
            const std::string reply = co_await socket.receive();
            EXPECT_EQ(reply, "echo:datagram " + std::to_string(i));
        }
        co_await socket.send("");
        const std::string empty_echo = co_await socket.receive();
        EXPECT_EQ(empty_echo, "echo:");
        co_await socket.send("quit");
    });
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(peer.program.read_line(), std::to_string(my_port) + " 10");
    }
    EXPECT_EQ(peer.program.read_line(), std::to_string(my_port) + " 0");
    EXPECT_EQ(peer.program.read_line(), "bye");
}

TEST(Udp, ConnectedSocketWithPythonPeerIPv4) {
    connected_socket_with_python_peer("127.0.0.1", AF_INET);
}

TEST(Udp, ConnectedSocketWithPythonPeerIPv6) {
    if (skip_without_ipv6()) GTEST_SKIP() << "no IPv6 loopback";
    connected_socket_with_python_peer("::1", AF_INET6);
}

// socat sends one datagram from its own socket; receive_from names that socket.
void receive_from_socat(const std::string& host, const std::string& socat_address) {
    std::optional<anyio_test::process> socat;
    run_guarded([&]() -> anyio::task<> {
        auto socket = co_await anyio::create_udp_socket(host, 0);
        const std::string target = socat_address + ":" + std::to_string(socket.local_port());
        socat.emplace(std::vector<std::string>{"/bin/sh", "-c",
                                               "printf 'hello from socat' | socat -u - " + target});
        anyio::datagram got = co_await socket.receive_from();
        EXPECT_EQ(got.data, "hello from socat");
        EXPECT_EQ(got.sender.host(), host);
        EXPECT_NE(got.sender.port(), 0);
        EXPECT_NE(got.sender.port(), socket.local_port());
    });
    EXPECT_TRUE(socat->wait().ok());
}

TEST(Udp, ReceivesFromSocatIPv4) {
    receive_from_socat("127.0.0.1", "UDP4-SENDTO:127.0.0.1");
}

TEST(Udp, ReceivesFromSocatIPv6) {
    if (skip_without_ipv6()) GTEST_SKIP() << "no IPv6 loopback";
    receive_from_socat("::1", "UDP6-SENDTO:[::1]");
}

// The default socket ("" and AF_UNSPEC) is dual-stack: an IPv4 sender appears as an IPv4
// address, and the reply to that address goes out IPv4-mapped.
TEST(Udp, DualStackWildcardAnswersIPv4Senders) {
    if (skip_without_ipv6()) GTEST_SKIP() << "no IPv6 loopback";
    run_guarded([]() -> anyio::task<> {
        auto server = co_await anyio::create_udp_socket();
        EXPECT_EQ(server.local_address().family(), AF_INET6);
        auto client = co_await anyio::create_udp_socket("127.0.0.1", 0);
        co_await client.send_to("ping", "127.0.0.1", server.local_port());
        anyio::datagram request = co_await server.receive_from();
        EXPECT_EQ(request.sender.family(), AF_INET);
        EXPECT_EQ(request.sender, client.local_address());
        co_await server.send_to("pong", request.sender);
        co_await server.send_to("pong by name", "127.0.0.1", client.local_port());
        anyio::datagram reply = co_await client.receive_from();
        EXPECT_EQ(reply.data, "pong");
        reply = co_await client.receive_from();
        EXPECT_EQ(reply.data, "pong by name");
    });
}

TEST(Udp, ExplicitFamilies) {
    run_guarded([]() -> anyio::task<> {
        auto v4 = co_await anyio::create_udp_socket("", 0, AF_INET);
        auto by_name = co_await anyio::create_udp_socket("localhost", 0, AF_INET);
        EXPECT_EQ(by_name.local_address().host(), "127.0.0.1");
        EXPECT_EQ(v4.local_address().family(), AF_INET);
        EXPECT_EQ(v4.local_address().host(), "0.0.0.0");
        if (!skip_without_ipv6()) {
            auto v6 = co_await anyio::create_udp_socket("", 0, AF_INET6);
            EXPECT_EQ(v6.local_address().host(), "::");
            v6 = co_await anyio::create_udp_socket("::1", 0, AF_INET6);
            EXPECT_EQ(v6.local_address().host(), "::1");
        }
    });
}

TEST(Udp, OversizeDatagramIsAnErrorNamingItsSize) {
    run_guarded([]() -> anyio::task<> {
        auto socket = co_await anyio::create_udp_socket("127.0.0.1", 0);
        auto connected =
            co_await anyio::create_connected_udp_socket("127.0.0.1", socket.local_port());
        const std::string huge(70000, 'x');
        for (int variant = 0; variant < 2; ++variant) {
            bool refused = false;
            try {
                if (variant == 0) {
                    co_await socket.send_to(huge, socket.local_address());
                } else {
                    co_await connected.send(huge);
                }
            } catch (const std::system_error& e) {
                refused = e.code().value() == EMSGSIZE;
                EXPECT_NE(std::string(e.what()).find("70000 bytes"), std::string::npos) << e.what();
            }
            EXPECT_TRUE(refused) << variant;
        }
        // The largest UDP datagram over IPv4 goes, and comes back whole.
        const std::string largest(65507, 'y');
        co_await connected.send(largest);
        anyio::datagram got = co_await socket.receive_from();
        EXPECT_EQ(got.data.size(), largest.size());
        EXPECT_EQ(got.data, largest);
    });
}

// A datagram longer than max_bytes is never returned cut short: the receive reports it
// with its size, and the next datagram is received normally.
TEST(Udp, DatagramLongerThanMaxBytesIsReportedNotTruncated) {
    run_guarded([]() -> anyio::task<> {
        auto socket = co_await anyio::create_udp_socket("127.0.0.1", 0);
        co_await socket.send_to(std::string(1000, 'a'), socket.local_address());
        co_await socket.send_to("small", socket.local_address());
        bool reported = false;
        try {
            (void)co_await socket.receive_from(100);
        } catch (const std::system_error& e) {
            reported = e.code().value() == EMSGSIZE;
            const std::string what = e.what();
            EXPECT_NE(what.find("1000 bytes"), std::string::npos) << what;
            EXPECT_NE(what.find("max_bytes 100"), std::string::npos) << what;
        }
        EXPECT_TRUE(reported);
        anyio::datagram next = co_await socket.receive_from(100);
        EXPECT_EQ(next.data, "small");
        // Above the per-thread scratch size, the datagram is read into its own buffer.
        co_await socket.send_to(std::string(5000, 'b'), socket.local_address());
        next = co_await socket.receive_from(100000);
        EXPECT_EQ(next.data, std::string(5000, 'b'));
    });
}

TEST(Udp, BadAddressesAreRefused) {
    run_guarded([]() -> anyio::task<> {
        auto socket = co_await anyio::create_udp_socket("127.0.0.1", 0);
        int invalid = 0;
        auto unix_socket = co_await anyio::create_unix_datagram_socket();
        const anyio::socket_address unix_path = unix_socket.local_address();
        for (int attempt = 0; attempt < 5; ++attempt) {
            try {
                switch (attempt) {
                    case 0:  // an IPv6 address from an IPv4 socket
                        co_await socket.send_to("x", "::1", 9);
                        break;
                    case 1:
                        co_await socket.send_to("x", "127.0.0.1", 0);
                        break;
                    case 2:
                        co_await socket.send_to("x", unix_path);
                        break;
                    case 3:
                        co_await socket.send_to("x", anyio::socket_address());
                        break;
                    case 4:
                        (void)co_await anyio::create_udp_socket("::1", 0, AF_INET);
                        break;
                }
                ADD_FAILURE() << "attempt " << attempt << " was accepted";
            } catch (const std::invalid_argument& e) {
                ++invalid;
                if (attempt == 0) {
                    EXPECT_NE(std::string(e.what()).find("\"::1\" has no IPv4 address"),
                              std::string::npos)
                        << e.what();
                }
            }
        }
        EXPECT_EQ(invalid, 5);
        int invalid_creations = 0;
        for (int attempt = 0; attempt < 4; ++attempt) {
            try {
                if (attempt == 0) (void)co_await anyio::create_udp_socket("", 0, AF_UNIX);
                if (attempt == 1) (void)co_await anyio::create_udp_socket("", 65536);
                if (attempt == 2) (void)co_await anyio::create_connected_udp_socket("", 53);
                if (attempt == 3) (void)co_await anyio::create_connected_udp_socket("127.0.0.1", 0);
            } catch (const std::invalid_argument&) {
                ++invalid_creations;
            }
        }
        EXPECT_EQ(invalid_creations, 4);
        int unresolved = 0;
        try {
            co_await socket.send_to("x", "no-such-host.invalid", 9);
        } catch (const anyio::resolve_error& e) {
            ++unresolved;
            EXPECT_EQ(e.host(), "no-such-host.invalid");
        }
        try {
            (void)co_await anyio::create_connected_udp_socket("no-such-host.invalid", 9);
        } catch (const anyio::resolve_error&) {
            ++unresolved;
        }
        EXPECT_EQ(unresolved, 2);
    });
}

TEST(Udp, PortInUseUnlessReusePort) {
    run_guarded([]() -> anyio::task<> {
        auto first = co_await anyio::create_udp_socket("127.0.0.1", 0);
        bool in_use = false;
        try {
            (void)co_await anyio::create_udp_socket("127.0.0.1", first.local_port());
        } catch (const std::system_error& e) {
            in_use = e.code().value() == EADDRINUSE;
            EXPECT_NE(std::string(e.what()).find(first.local_address().to_string()),
                      std::string::npos)
                << e.what();
        }
        EXPECT_TRUE(in_use);
        auto shared_a = co_await anyio::create_udp_socket("127.0.0.1", 0, AF_UNSPEC, true);
        auto shared_b =
            co_await anyio::create_udp_socket("127.0.0.1", shared_a.local_port(), AF_INET, true);
        EXPECT_EQ(shared_a.local_port(), shared_b.local_port());
    });
}

// ICMP "port unreachable" for a connected socket's datagram surfaces as ECONNREFUSED in
// the next receive (AnyIO raises it too); the socket stays usable.
TEST(Udp, ConnectedSocketReportsRefusal) {
    run_guarded([]() -> anyio::task<> {
        auto peer = co_await anyio::create_udp_socket("127.0.0.1", 0);
        const int port = peer.local_port();
        auto socket = co_await anyio::create_connected_udp_socket("127.0.0.1", port);
        peer.close();  // nothing listens on `port` any more
        co_await socket.send("anyone?");
        bool refused = false;
        try {
            (void)co_await socket.receive();
        } catch (const std::system_error& e) {
            refused = e.code().value() == ECONNREFUSED;
        }
        EXPECT_TRUE(refused);
        EXPECT_TRUE(socket.is_open());
        // Usable afterwards: a new peer on the same port is reached.
        auto again = co_await anyio::create_udp_socket("127.0.0.1", port);
        co_await socket.send("hello");
        anyio::datagram got = co_await again.receive_from();
        EXPECT_EQ(got.data, "hello");
        EXPECT_EQ(got.sender, socket.local_address());
    });
}

TEST(Udp, ClosedAndBusy) {
    run_guarded([]() -> anyio::task<> {
        anyio::udp_socket never_opened;
        bool closed = false;
        try {
            (void)co_await never_opened.receive_from();
        } catch (const anyio::closed_resource_error&) {
            closed = true;
        }
        EXPECT_TRUE(closed);

        auto socket = co_await anyio::create_udp_socket("127.0.0.1", 0);
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
            co_await socket.aclose();  // wakes the first receive
            co_await anyio_test::settle();
            EXPECT_TRUE(first_closed);
        });
        EXPECT_FALSE(socket.is_open());
        EXPECT_EQ(socket.native_handle(), -1);
        int errors = 0;
        try {
            co_await socket.send_to("x", "127.0.0.1", 9);
        } catch (const anyio::closed_resource_error&) {
            ++errors;
        }
        try {
            (void)co_await socket.receive_from();
        } catch (const anyio::closed_resource_error&) {
            ++errors;
        }
        EXPECT_EQ(errors, 2);
        EXPECT_EQ(socket.local_address().host(), "127.0.0.1") << "kept after close";
    });
}

// Receives cut short by a deadline again and again, while datagrams arrive: every datagram
// is still received, once, in order (one is read from the kernel only in the step that
// returns it). The sender paces itself on the receiver so the kernel never drops one.
TEST(Udp, CancelledReceivesLoseNoDatagram) {
    run_guarded([]() -> anyio::task<> {
        auto receiver = co_await anyio::create_udp_socket("127.0.0.1", 0);
        auto sender =
            co_await anyio::create_connected_udp_socket("127.0.0.1", receiver.local_port());
        constexpr int total = 3000;
        constexpr int batch = 20;
        std::vector<int> got;
        int cut_short = 0;
        auto caught_up = std::make_unique<anyio::event>();
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                for (int i = 0; i < total; ++i) {
                    co_await sender.send(std::to_string(i));
                    if ((i + 1) % batch == 0) {
                        co_await caught_up->wait();
                        caught_up = std::make_unique<anyio::event>();
                    }
                }
            });
            while (got.size() < static_cast<std::size_t>(total)) {
                anyio::datagram d;
                const bool finished = co_await anyio::move_on_after(
                    20us, [&]() -> anyio::task<> { d = co_await receiver.receive_from(); });
                if (!finished) {
                    ++cut_short;
                    continue;
                }
                got.push_back(std::stoi(d.data));
                if (got.size() % batch == 0) {
                    // Between batches nothing is queued (the sender waits for caught_up), so
                    // this receive surely parks, and surely is cancelled while it waits: at
                    // least one cut-short receive per batch, whatever the machine's speed.
                    anyio::cancel_scope waiting;
                    auto park = [&]() -> anyio::task<> {
                        co_await waiting.run(
                            [&]() -> anyio::task<> { (void)co_await receiver.receive_from(); });
                    };
                    auto cancel_once_parked = [&]() -> anyio::task<> {
                        co_await anyio_test::settle();
                        waiting.cancel();
                    };
                    co_await anyio::with_task_group([&](anyio::task_group& inner) -> anyio::task<> {
                        inner.start_soon(park);
                        inner.start_soon(cancel_once_parked);
                        co_return;
                    });
                    if (waiting.cancelled_caught()) ++cut_short;
                    caught_up->set();
                }
            }
        });
        for (int i = 0; i < total; ++i) {
            if (got[static_cast<std::size_t>(i)] != i) {
                ADD_FAILURE() << "datagram " << i << " is " << got[static_cast<std::size_t>(i)];
                break;
            }
        }
        EXPECT_GE(cut_short, total / batch) << "a receive parked between batches was not cut short";
    });
}

// A cancellation that arrives after a receive took its datagram from the kernel (while it
// lets the other tasks run before returning) does not lose it: the receive returns it. The
// same for a send: once sent, it reports success, so nobody sends it twice.
TEST(Udp, CancellationAfterTheDatagramMovedKeepsTheResult) {
    run_guarded([]() -> anyio::task<> {
        auto receiver = co_await anyio::create_udp_socket("127.0.0.1", 0);
        auto sender = co_await anyio::create_udp_socket("127.0.0.1", 0);
        constexpr int total = 50;
        int sent = 0;
        int cancels_landed = 0;
        anyio::cancel_scope* running = nullptr;
        // Runs in the scheduling round the operation yields in, once it has acted.
        auto cancel_the_operation = [&]() -> anyio::task<> {
            if (running != nullptr) {
                running->cancel();
                ++cancels_landed;
            }
            co_return;
        };
        for (int i = 0; i < total; ++i) {
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon(cancel_the_operation);
                (void)co_await anyio::move_on_after(
                    1h, [&](anyio::cancel_scope& scope) -> anyio::task<> {
                        running = &scope;
                        co_await sender.send_to(std::to_string(i), receiver.local_address());
                        running = nullptr;
                        ++sent;
                    });
                running = nullptr;
            });
        }
        EXPECT_EQ(sent, total) << "a send that went out reported cancellation";
        std::vector<int> got;
        for (int i = 0; i < total; ++i) {
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon(cancel_the_operation);
                (void)co_await anyio::move_on_after(
                    1h, [&](anyio::cancel_scope& scope) -> anyio::task<> {
                        running = &scope;
                        anyio::datagram d = co_await receiver.receive_from();
                        running = nullptr;
                        got.push_back(std::stoi(d.data));
                    });
                running = nullptr;
            });
        }
        EXPECT_EQ(cancels_landed, 2 * total) << "the cancellations came at the wrong time";
        EXPECT_EQ(got.size(), static_cast<std::size_t>(total));
        for (std::size_t i = 0; i < got.size(); ++i)
            EXPECT_EQ(got[i], static_cast<int>(i));
    });
}

// A send in a cancelled scope sends nothing.
TEST(Udp, CancelledSendSendsNothing) {
    run_guarded([]() -> anyio::task<> {
        auto receiver = co_await anyio::create_udp_socket("127.0.0.1", 0);
        auto sender = co_await anyio::create_udp_socket("127.0.0.1", 0);
        const bool finished =
            co_await anyio::move_on_after(1h, [&](anyio::cancel_scope& scope) -> anyio::task<> {
                scope.cancel();
                co_await sender.send_to("cancelled", receiver.local_address());
            });
        EXPECT_FALSE(finished);
        co_await sender.send_to("after", receiver.local_address());
        anyio::datagram got = co_await receiver.receive_from();
        EXPECT_EQ(got.data, "after");
    });
}

TEST(Udp, NoDescriptorLeaks) {
    const std::size_t before = anyio_test::open_fd_count();
    run_guarded([]() -> anyio::task<> {
        for (int round = 0; round < 20; ++round) {
            auto a = co_await anyio::create_udp_socket("127.0.0.1", 0);
            auto b = co_await anyio::create_connected_udp_socket("127.0.0.1", a.local_port());
            try {  // bind fails after the socket was made
                (void)co_await anyio::create_udp_socket("127.0.0.1", a.local_port());
            } catch (const std::system_error&) {
            }
            try {
                (void)co_await anyio::create_connected_udp_socket("127.0.0.1", a.local_port(),
                                                                  "127.0.0.1", a.local_port());
            } catch (const std::system_error&) {
            }
            try {
                co_await b.send(std::string(70000, 'x'));
            } catch (const std::system_error&) {
            }
            (void)co_await anyio::move_on_after(
                1ms, [&]() -> anyio::task<> { (void)co_await a.receive_from(); });
            co_await b.send("x");
            (void)co_await a.receive_from();
        }
    });
    EXPECT_EQ(anyio_test::open_fd_count(), before);
}

}  // namespace
