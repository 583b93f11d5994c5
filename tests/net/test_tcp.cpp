// TCP over real loopback: connect, accept, echo, addresses, name resolution and errors.

#include <anyio/anyio.hpp>

#include "net/net_helpers.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace {

using namespace std::chrono_literals;
using anyio_test::run_guarded;

// Connects a client, accepts it, and checks a line each way plus both ends' addresses.
anyio::task<> check_echo_pair(anyio::tcp_listener& listener, const std::string& host) {
    auto client = co_await anyio::connect_tcp(host, listener.port());
    auto server = co_await listener.accept();
    EXPECT_EQ(client.remote_address().port(), listener.port());
    EXPECT_EQ(server.remote_address(), client.local_address());
    EXPECT_EQ(server.local_address(), client.remote_address());
    co_await client.send("ping\n");
    const std::string ping = co_await anyio_test::receive_line(server);
    EXPECT_EQ(ping, "ping");
    co_await server.send("pong\n");
    const std::string pong = co_await anyio_test::receive_line(client);
    EXPECT_EQ(pong, "pong");
    co_await client.send_eof();
    bool ended = false;
    try {
        (void)co_await server.receive();
    } catch (const anyio::end_of_stream&) {
        ended = true;
    }
    EXPECT_TRUE(ended);
}

TEST(Tcp, ConnectAcceptAndEchoOverIpv4) {
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        EXPECT_NE(listener.port(), 0);
        EXPECT_EQ(listener.local_address().family(), AF_INET);
        EXPECT_EQ(listener.local_address().to_string(),
                  "127.0.0.1:" + std::to_string(listener.port()));
        co_await check_echo_pair(listener, "127.0.0.1");
    });
}

TEST(Tcp, ConnectAcceptAndEchoOverIpv6) {
    if (!anyio_test::ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback (::1)";
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("::1", 0);
        EXPECT_EQ(listener.local_address().family(), AF_INET6);
        EXPECT_EQ(listener.local_address().to_string(), "[::1]:" + std::to_string(listener.port()));
        co_await check_echo_pair(listener, "::1");
    });
}

TEST(Tcp, EmptyLocalHostListensOnEveryInterfaceForIpv4Clients) {
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener();
        const std::string host = listener.local_address().host();
        EXPECT_TRUE(host == "::" || host == "0.0.0.0") << host;
        auto client = co_await anyio::connect_tcp("127.0.0.1", listener.port());
        auto server = co_await listener.accept();
        // A dual-stack listener's IPv4 peer shows as IPv4, not ::ffff:127.0.0.1.
        EXPECT_EQ(server.remote_address().to_string(), client.local_address().to_string());
        EXPECT_EQ(server.remote_address().family(), AF_INET);
    });
}

TEST(Tcp, ConnectsToLocalhostByName) {
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        co_await check_echo_pair(listener, "localhost");
    });
}

TEST(Tcp, NameLookupsCutShortByCancellationLeakNothing) {
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        const std::size_t fds = anyio_test::open_fd_count();
        int connected = 0;
        int cut_short = 0;
        // Deadlines from 0 to 490 us land before, during and after the lookup thread's work:
        // an abandoned lookup finishes in its thread and its descriptor is closed there.
        for (int i = 0; i < 200; ++i) {
            const bool finished = co_await anyio::move_on_after(
                std::chrono::microseconds(i % 50 * 10), [&]() -> anyio::task<> {
                    auto client = co_await anyio::connect_tcp("localhost", listener.port());
                    auto server = co_await listener.accept();
                    ++connected;
                });
            if (!finished) ++cut_short;
        }
        EXPECT_EQ(connected + cut_short, 200);
        for (int i = 0; i < 5000 && anyio_test::open_fd_count() != fds; ++i)
            co_await anyio::sleep(1ms);  // abandoned lookups may still be running
        EXPECT_EQ(anyio_test::open_fd_count(), fds);
    });
}

TEST(Tcp, ListensOnLocalhostByName) {
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("localhost", 0);
        EXPECT_TRUE(listener.local_address().host() == "127.0.0.1" ||
                    listener.local_address().host() == "::1");
        co_await check_echo_pair(listener, listener.local_address().host());
    });
}

TEST(Tcp, ConnectionsHaveNodelaySet) {
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        auto client = co_await anyio::connect_tcp("127.0.0.1", listener.port());
        auto server = co_await listener.accept();
        for (const anyio::socket_stream* s : {&client, &server}) {
            int value = 0;
            socklen_t size = sizeof value;
            EXPECT_EQ(::getsockopt(s->native_handle(), IPPROTO_TCP, TCP_NODELAY, &value, &size), 0);
            EXPECT_NE(value, 0);
        }
    });
}

TEST(Tcp, ConnectingToAClosedPortRaisesConnectErrorWithErrnoAndAddress) {
    run_guarded([]() -> anyio::task<> {
        // A port that was just ours and is closed now: nothing listens there.
        int port = 0;
        {
            auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
            port = listener.port();
        }
        bool caught = false;
        try {
            (void)co_await anyio::connect_tcp("127.0.0.1", port);
        } catch (const anyio::connect_error& e) {
            caught = true;
            EXPECT_EQ(e.code(), std::errc::connection_refused);
            EXPECT_EQ(e.code().value(), ECONNREFUSED);
            EXPECT_EQ(e.address().to_string(), "127.0.0.1:" + std::to_string(port));
            EXPECT_EQ(std::string(e.what()), "anyio: connect to 127.0.0.1:" + std::to_string(port) +
                                                 ": Connection refused");
        }
        EXPECT_TRUE(caught);
        // Also a std::system_error for code that does not know anyio's types.
        bool as_system_error = false;
        try {
            (void)co_await anyio::connect_tcp("127.0.0.1", port);
        } catch (const std::system_error& e) {
            as_system_error = e.code().value() == ECONNREFUSED;
        }
        EXPECT_TRUE(as_system_error);
    });
}

TEST(Tcp, UnknownHostRaisesResolveErrorNamingIt) {
    run_guarded([]() -> anyio::task<> {
        bool caught = false;
        try {
            // .invalid never resolves (RFC 6761).
            (void)co_await anyio::connect_tcp("no-such-host.invalid", 80);
        } catch (const anyio::resolve_error& e) {
            caught = true;
            EXPECT_EQ(e.host(), "no-such-host.invalid");
            EXPECT_NE(std::string(e.what()).find("\"no-such-host.invalid\""), std::string::npos)
                << e.what();
            EXPECT_NE(e.gai_error(), 0);
        }
        EXPECT_TRUE(caught);
    });
}

TEST(Tcp, MalformedAddressesAndBadPortsAreRefused) {
    run_guarded([]() -> anyio::task<> {
        int resolve_errors = 0;
        for (const char* host : {"256.1.2.3", "::1::2", "1.2.3.4.5", "bad host name!"}) {
            try {
                (void)co_await anyio::connect_tcp(host, 80);
                ADD_FAILURE() << host << " connected";
            } catch (const anyio::resolve_error& e) {
                ++resolve_errors;
                EXPECT_EQ(e.host(), host);
            }
        }
        EXPECT_EQ(resolve_errors, 4);
        int invalid = 0;
        for (int port : {0, -1, 65536, 100000}) {
            try {
                (void)co_await anyio::connect_tcp("127.0.0.1", port);
            } catch (const std::invalid_argument& e) {
                ++invalid;
                EXPECT_NE(std::string(e.what()).find(std::to_string(port)), std::string::npos);
            }
        }
        EXPECT_EQ(invalid, 4);
        try {
            (void)co_await anyio::connect_tcp("", 80);
        } catch (const std::invalid_argument&) {
            ++invalid;
        }
        for (int port : {-1, 65536}) {
            try {
                (void)co_await anyio::create_tcp_listener("127.0.0.1", port);
            } catch (const std::invalid_argument&) {
                ++invalid;
            }
        }
        try {
            (void)co_await anyio::create_tcp_listener("127.0.0.1", 0, 0);
        } catch (const std::invalid_argument&) {
            ++invalid;
        }
        EXPECT_EQ(invalid, 8);
        bool listen_resolve_error = false;
        try {
            (void)co_await anyio::create_tcp_listener("no-such-host.invalid", 0);
        } catch (const anyio::resolve_error&) {
            listen_resolve_error = true;
        }
        EXPECT_TRUE(listen_resolve_error);
    });
}

TEST(Tcp, ListeningOnAPortInUseNamesTheAddress) {
    run_guarded([]() -> anyio::task<> {
        auto first = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        bool caught = false;
        try {
            (void)co_await anyio::create_tcp_listener("127.0.0.1", first.port());
        } catch (const std::system_error& e) {
            caught = true;
            EXPECT_EQ(e.code().value(), EADDRINUSE);
            EXPECT_NE(std::string(e.what()).find(first.local_address().to_string()),
                      std::string::npos)
                << e.what();
        }
        EXPECT_TRUE(caught);
    });
}

TEST(Tcp, PeerResetIsABrokenResourceForReceiveAndSend) {
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        auto client = co_await anyio::connect_tcp("127.0.0.1", listener.port());
        auto server = co_await listener.accept();
        // Linger 0: close sends a reset instead of the orderly end.
        const linger abort_on_close{1, 0};
        EXPECT_EQ(::setsockopt(client.native_handle(), SOL_SOCKET, SO_LINGER, &abort_on_close,
                               sizeof abort_on_close),
                  0);
        client.close();
        bool receive_broken = false;
        try {
            (void)co_await server.receive();
        } catch (const anyio::broken_resource_error&) {
            receive_broken = true;
        }
        EXPECT_TRUE(receive_broken);
        bool send_broken = false;
        try {
            for (int i = 0; i < 100; ++i)
                co_await server.send(std::string(65536, 'x'));
        } catch (const anyio::broken_resource_error&) {
            send_broken = true;
        }
        EXPECT_TRUE(send_broken);
    });
}

TEST(Tcp, UsingAClosedStreamOrListenerIsAClosedResource) {
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        auto client = co_await anyio::connect_tcp("127.0.0.1", listener.port());
        const anyio::socket_address remote = client.remote_address();
        co_await client.aclose();
        int closed = 0;
        try {
            co_await client.send("x");
        } catch (const anyio::closed_resource_error&) {
            ++closed;
        }
        EXPECT_EQ(client.remote_address(), remote) << "addresses stay after close";
        co_await listener.aclose();
        EXPECT_FALSE(listener.is_open());
        EXPECT_EQ(listener.native_handle(), -1);
        try {
            (void)co_await listener.accept();
        } catch (const anyio::closed_resource_error&) {
            ++closed;
        }
        anyio::tcp_listener never_opened;
        try {
            (void)co_await never_opened.accept();
        } catch (const anyio::closed_resource_error&) {
            ++closed;
        }
        EXPECT_EQ(closed, 3);
        // Nothing listens any more.
        bool refused = false;
        try {
            (void)co_await anyio::connect_tcp("127.0.0.1", listener.port());
        } catch (const anyio::connect_error& e) {
            refused = e.code().value() == ECONNREFUSED;
        }
        EXPECT_TRUE(refused);
    });
}

TEST(Tcp, SecondConcurrentAcceptIsBusy) {
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        bool busy = false;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> { (void)co_await listener.accept(); });
            co_await anyio_test::settle();
            try {
                (void)co_await listener.accept();
            } catch (const anyio::busy_resource_error&) {
                busy = true;
            }
            (void)co_await anyio::connect_tcp("127.0.0.1", listener.port());
        });
        EXPECT_TRUE(busy);
    });
}

TEST(SocketAddress, PrintsAddressesAsPeopleWriteThem) {
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    v4.sin_port = htons(80);
    v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const anyio::socket_address a(reinterpret_cast<const sockaddr*>(&v4), sizeof v4);
    EXPECT_EQ(a.to_string(), "127.0.0.1:80");
    EXPECT_EQ(a.host(), "127.0.0.1");
    EXPECT_EQ(a.port(), 80);
    std::ostringstream printed;
    printed << a;
    EXPECT_EQ(printed.str(), "127.0.0.1:80");

    sockaddr_in6 v6{};
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(443);
    v6.sin6_addr = in6addr_loopback;
    const anyio::socket_address b(reinterpret_cast<const sockaddr*>(&v6), sizeof v6);
    EXPECT_EQ(b.to_string(), "[::1]:443");
    EXPECT_NE(a, b);

    // IPv4-mapped IPv6 is the IPv4 address.
    sockaddr_in6 mapped{};
    mapped.sin6_family = AF_INET6;
    mapped.sin6_port = htons(80);
    mapped.sin6_addr.s6_addr[10] = 0xff;
    mapped.sin6_addr.s6_addr[11] = 0xff;
    mapped.sin6_addr.s6_addr[12] = 127;
    mapped.sin6_addr.s6_addr[15] = 1;
    const anyio::socket_address c(reinterpret_cast<const sockaddr*>(&mapped), sizeof mapped);
    EXPECT_EQ(c, a);
    EXPECT_EQ(c.family(), AF_INET);

    const anyio::socket_address none;
    EXPECT_EQ(none.family(), AF_UNSPEC);
    EXPECT_EQ(none.to_string(), "");
    EXPECT_EQ(none.port(), 0);

    sockaddr bad{};
    bad.sa_family = AF_PACKET;
    EXPECT_THROW(anyio::socket_address(&bad, sizeof bad), std::invalid_argument);
}

}  // namespace
