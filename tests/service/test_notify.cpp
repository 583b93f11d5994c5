// Service notifications (sd_notify's protocol) to a real datagram socket: every message
// kind, path and abstract addresses, the sender's pid, the no-op without a manager, and
// every error (gone, too long, bad text, bad address, full queue) without a descriptor leak.

#include <anyio/anyio.hpp>

#include "support/child_process.hpp"
#include "support/descriptors.hpp"
#include "support/notify_socket.hpp"
#include "support/scoped_env.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using anyio_test::notify_socket;

using anyio_test::scoped_env;

// The next message, which must arrive (hang guard) from this process.
std::string next_text(notify_socket& manager) {
    const std::optional<anyio_test::notify_message> message = manager.receive();
    if (!message) {
        ADD_FAILURE() << "no message arrived";
        return {};
    }
    EXPECT_EQ(message->sender, ::getpid());
    return message->text;
}

// Nothing is queued: every send is complete when the call returns, so no wait is needed.
void expect_nothing_sent(notify_socket& manager) {
    const std::optional<anyio_test::notify_message> message = manager.receive(0ms);
    EXPECT_FALSE(message) << "unexpected message: " << message->text;
}

std::uint64_t monotonic_usec() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1000000U +
           static_cast<std::uint64_t>(now.tv_nsec) / 1000U;
}

// Runs `call`, which must throw service_notify_error; returns it (code and text).
std::optional<anyio::service_notify_error> error_of(const std::function<void()>& call) {
    try {
        call();
    } catch (const anyio::service_notify_error& e) {
        return e;
    }
    ADD_FAILURE() << "no service_notify_error";
    return std::nullopt;
}

void expect_error(const std::function<void()>& call, int code, const std::string& mention) {
    const std::optional<anyio::service_notify_error> error = error_of(call);
    if (!error) return;
    EXPECT_EQ(error->code().value(), code) << error->what();
    EXPECT_NE(std::string(error->what()).find(mention), std::string::npos)
        << "\"" << error->what() << "\" does not mention \"" << mention << "\"";
}

void expect_every_message_kind(bool abstract) {
    notify_socket manager(abstract);
    const scoped_env env("NOTIFY_SOCKET", manager.address());
    EXPECT_TRUE(anyio::service_notifications_enabled());

    EXPECT_TRUE(anyio::notify_ready("serving on :8000"));
    EXPECT_EQ(next_text(manager), "READY=1\nSTATUS=serving on :8000");
    EXPECT_TRUE(anyio::notify_ready());
    EXPECT_EQ(next_text(manager), "READY=1");

    const std::uint64_t before = monotonic_usec();
    EXPECT_TRUE(anyio::notify_reloading("reloading the configuration"));
    const std::uint64_t after = monotonic_usec();
    const std::string reloading = next_text(manager);
    const std::string_view head = "RELOADING=1\nMONOTONIC_USEC=";
    const std::string_view tail = "\nSTATUS=reloading the configuration";
    ASSERT_EQ(reloading.substr(0, head.size()), head) << reloading;
    ASSERT_GT(reloading.size(), head.size() + tail.size()) << reloading;
    ASSERT_EQ(reloading.substr(reloading.size() - tail.size()), tail) << reloading;
    const std::string digits =
        reloading.substr(head.size(), reloading.size() - head.size() - tail.size());
    std::uint64_t stamp = 0;
    const auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), stamp);
    ASSERT_EQ(parsed.ptr, digits.data() + digits.size()) << reloading;
    EXPECT_LE(before, stamp);
    EXPECT_LE(stamp, after);
    EXPECT_TRUE(anyio::notify_reloading());
    EXPECT_EQ(next_text(manager).find("RELOADING=1\nMONOTONIC_USEC="), 0U);

    EXPECT_TRUE(anyio::notify_stopping("draining 12 connections"));
    EXPECT_EQ(next_text(manager), "STOPPING=1\nSTATUS=draining 12 connections");
    EXPECT_TRUE(anyio::notify_stopping());
    EXPECT_EQ(next_text(manager), "STOPPING=1");
    EXPECT_TRUE(anyio::notify_status("3 connections"));
    EXPECT_EQ(next_text(manager), "STATUS=3 connections");
    EXPECT_TRUE(anyio::notify_status(""));  // clears the status
    EXPECT_EQ(next_text(manager), "STATUS=");
    EXPECT_TRUE(anyio::notify_errno(ENOENT));
    EXPECT_EQ(next_text(manager), "ERRNO=" + std::to_string(ENOENT));
    EXPECT_TRUE(anyio::notify_main_pid(4242));
    EXPECT_EQ(next_text(manager), "MAINPID=4242");
    EXPECT_TRUE(anyio::notify_watchdog());
    EXPECT_EQ(next_text(manager), "WATCHDOG=1");
    EXPECT_TRUE(anyio::notify_service("READY=1\nSTATUS=up\nX_CUSTOM="));
    EXPECT_EQ(next_text(manager), "READY=1\nSTATUS=up\nX_CUSTOM=");

    EXPECT_TRUE(anyio::notify_extend_timeout(1500us));
    EXPECT_EQ(next_text(manager), "EXTEND_TIMEOUT_USEC=1500");
    EXPECT_TRUE(anyio::notify_extend_timeout(90s));
    EXPECT_EQ(next_text(manager), "EXTEND_TIMEOUT_USEC=90000000");
    EXPECT_TRUE(anyio::notify_extend_timeout(1001ns));  // rounded up
    EXPECT_EQ(next_text(manager), "EXTEND_TIMEOUT_USEC=2");
    EXPECT_TRUE(anyio::notify_extend_timeout(std::chrono::duration<double>(0.5)));
    EXPECT_EQ(next_text(manager), "EXTEND_TIMEOUT_USEC=500000");
    EXPECT_TRUE(anyio::notify_extend_timeout(0us));
    EXPECT_EQ(next_text(manager), "EXTEND_TIMEOUT_USEC=1");
    EXPECT_TRUE(anyio::notify_extend_timeout(-5s));
    EXPECT_EQ(next_text(manager), "EXTEND_TIMEOUT_USEC=1");
    EXPECT_TRUE(anyio::notify_extend_timeout(std::chrono::hours::max()));  // saturates
    EXPECT_EQ(next_text(manager),
              "EXTEND_TIMEOUT_USEC=" + std::to_string(std::chrono::microseconds::max().count()));

    expect_nothing_sent(manager);
}

TEST(Notify, EveryMessageKindArrivesOnAPathSocket) {
    expect_every_message_kind(false);
}

TEST(Notify, EveryMessageKindArrivesOnAnAbstractSocket) {
    expect_every_message_kind(true);
}

// Not started by a manager: every call is a no-op returning false. A socket is bound (but
// not named in the environment) to show that nothing goes anywhere.
TEST(Notify, WithoutNotifySocketNothingIsSent) {
    notify_socket manager;
    for (const std::optional<std::string>& value :
         {std::optional<std::string>(), std::optional<std::string>("")}) {
        const scoped_env env("NOTIFY_SOCKET", value);
        EXPECT_FALSE(anyio::service_notifications_enabled());
        EXPECT_FALSE(anyio::notify_ready("up"));
        EXPECT_FALSE(anyio::notify_reloading());
        EXPECT_FALSE(anyio::notify_stopping());
        EXPECT_FALSE(anyio::notify_status("x"));
        EXPECT_FALSE(anyio::notify_errno(EIO));
        EXPECT_FALSE(anyio::notify_extend_timeout(1s));
        EXPECT_FALSE(anyio::notify_main_pid(1));
        EXPECT_FALSE(anyio::notify_watchdog());
        EXPECT_FALSE(anyio::notify_service("READY=1"));
    }
    expect_nothing_sent(manager);
}

// A manager that went away: refused (abstract) or no such file (path), naming the address.
TEST(Notify, SocketGoneThrows) {
    for (const bool abstract : {false, true}) {
        notify_socket manager(abstract);
        const std::string address = manager.address();
        const scoped_env env("NOTIFY_SOCKET", address);
        manager.close();
        const std::optional<anyio::service_notify_error> error =
            error_of([] { anyio::notify_status("x"); });
        ASSERT_TRUE(error);
        EXPECT_TRUE(error->code().value() == ECONNREFUSED || error->code().value() == ENOENT)
            << error->what();
        const std::string text = error->what();
        EXPECT_NE(text.find("anyio::notify_status: cannot send to " + address), std::string::npos)
            << text;
    }
}

// More than a datagram can carry: the kernel's EMSGSIZE, and nothing arrives.
TEST(Notify, TooLongMessageThrows) {
    notify_socket manager;
    const scoped_env env("NOTIFY_SOCKET", manager.address());
    const std::string huge(4 << 20, 'x');
    expect_error([&] { anyio::notify_status(huge); }, EMSGSIZE, manager.address());
    expect_nothing_sent(manager);
}

// A status is one line; the text is checked with or without a manager.
TEST(Notify, StatusWithNewlineOrNulIsRefused) {
    notify_socket manager;
    for (const std::optional<std::string>& value :
         {std::optional<std::string>(manager.address()), std::optional<std::string>()}) {
        const scoped_env env("NOTIFY_SOCKET", value);
        for (const std::string_view bad :
             {std::string_view("up\nREADY=1"), std::string_view("up\0down", 7)}) {
            expect_error([&] { anyio::notify_ready(bad); }, EINVAL, "anyio::notify_ready");
            expect_error([&] { anyio::notify_reloading(bad); }, EINVAL, "anyio::notify_reloading");
            expect_error([&] { anyio::notify_stopping(bad); }, EINVAL, "anyio::notify_stopping");
            expect_error([&] { anyio::notify_status(bad); }, EINVAL, "anyio::notify_status");
        }
    }
    expect_nothing_sent(manager);
}

TEST(Notify, AssignmentsMustBeKeyValueLines) {
    notify_socket manager;
    const scoped_env env("NOTIFY_SOCKET", manager.address());
    for (const std::string_view bad :
         {std::string_view("READY=1\nbogus"), std::string_view(""), std::string_view("READY=1\n"),
          std::string_view("=1"), std::string_view("READY=1\n\nSTATUS=x"),
          std::string_view("STATUS=a\0b", 10)}) {
        expect_error([&] { anyio::notify_service(bad); }, EINVAL, "anyio::notify_service");
    }
    expect_nothing_sent(manager);
}

TEST(Notify, ErrnoAndPidMustBePositive) {
    notify_socket manager;
    const scoped_env env("NOTIFY_SOCKET", manager.address());
    expect_error([] { anyio::notify_errno(0); }, EINVAL, "anyio::notify_errno");
    expect_error([] { anyio::notify_errno(-EIO); }, EINVAL, "anyio::notify_errno");
    expect_error([] { anyio::notify_main_pid(0); }, EINVAL, "anyio::notify_main_pid");
    expect_error([] { anyio::notify_main_pid(-1); }, EINVAL, "anyio::notify_main_pid");
    expect_nothing_sent(manager);
}

// Addresses we cannot use fail clearly, naming the value, instead of sending nowhere.
TEST(Notify, UnusableAddressesAreClearErrors) {
    const auto expect_address_error = [](const std::string& address, int code,
                                         const std::string& mention) {
        const scoped_env env("NOTIFY_SOCKET", address);
        EXPECT_TRUE(anyio::service_notifications_enabled());
        expect_error([] { anyio::notify_ready(); }, code, mention);
    };
    expect_address_error("vsock:2:1", EAFNOSUPPORT, "vsock:2:1");
    expect_address_error("vsock:2:1", EAFNOSUPPORT, "not supported");
    expect_address_error("relative/path", EINVAL, "NOTIFY_SOCKET=relative/path");
    expect_address_error("@", EINVAL, "NOTIFY_SOCKET=@");
    expect_address_error("/" + std::string(200, 'a'), ENAMETOOLONG, "too long");
    expect_address_error("@" + std::string(200, 'a'), ENAMETOOLONG, "too long");
}

// A manager that does not keep up: once its queue is full the next call throws EAGAIN
// instead of waiting (in a child, so that a blocking send fails by the hang guard).
TEST(Notify, FullQueueThrowsInsteadOfBlocking) {
    const anyio_test::exit_status status = anyio_test::run_in_child(
        [] {
            notify_socket manager;
            const scoped_env env("NOTIFY_SOCKET", manager.address());
            const std::size_t descriptors = anyio_test::open_fd_count();
            int sent = 0;
            std::optional<anyio::service_notify_error> error;
            while (!error && sent < 100000) {
                try {
                    anyio::notify_status("busy");
                    ++sent;
                } catch (const anyio::service_notify_error& e) {
                    error = e;
                }
            }
            ASSERT_TRUE(error) << "the queue never filled";
            EXPECT_GT(sent, 0);
            EXPECT_TRUE(error->code().value() == EAGAIN || error->code().value() == EWOULDBLOCK)
                << error->what();
            EXPECT_NE(std::string(error->what()).find("queue is full"), std::string::npos)
                << error->what();
            EXPECT_EQ(anyio_test::open_fd_count(), descriptors);
            // Room again once the manager reads one.
            EXPECT_EQ(next_text(manager), "STATUS=busy");
            EXPECT_TRUE(anyio::notify_status("caught up"));
        },
        std::chrono::seconds(60));
    EXPECT_TRUE(status.ok()) << status.describe();
}

// Every failure closes the socket it opened (and the checks before it open none).
TEST(Notify, NoDescriptorLeakOnAnyPath) {
    const std::size_t descriptors = anyio_test::open_fd_count();
    for (int round = 0; round < 20; ++round) {
        {
            notify_socket manager(round % 2 == 1);
            const scoped_env env("NOTIFY_SOCKET", manager.address());
            EXPECT_TRUE(anyio::notify_watchdog());
            EXPECT_THROW(anyio::notify_status(std::string(4 << 20, 'x')),
                         anyio::service_notify_error);
            EXPECT_THROW(anyio::notify_status("a\nb"), anyio::service_notify_error);
            EXPECT_THROW(anyio::notify_service("nope"), anyio::service_notify_error);
            manager.close();
            EXPECT_THROW(anyio::notify_ready(), anyio::service_notify_error);
        }
        for (const char* address : {"vsock:2:1", "relative", "@"}) {
            const scoped_env env("NOTIFY_SOCKET", address);
            EXPECT_THROW(anyio::notify_ready(), anyio::service_notify_error);
        }
    }
    EXPECT_EQ(anyio_test::open_fd_count(), descriptors);
}

// Any thread may notify; each message arrives whole, from this process.
TEST(Notify, AnyThreadMayNotify) {
    notify_socket manager;
    const scoped_env env("NOTIFY_SOCKET", manager.address());
    constexpr int threads = 4;
    constexpr int each = 2;  // in all fewer than the smallest default queue (10), no EAGAIN
    std::vector<std::thread> senders;
    for (int t = 0; t < threads; ++t) {
        senders.emplace_back([t] {
            for (int i = 0; i < each; ++i)
                anyio::notify_status("thread " + std::to_string(t) + " message " +
                                     std::to_string(i));
        });
    }
    for (std::thread& sender : senders)
        sender.join();
    std::vector<std::string> got;
    for (int i = 0; i < threads * each; ++i)
        got.push_back(next_text(manager));
    for (int t = 0; t < threads; ++t) {
        for (int i = 0; i < each; ++i) {
            const std::string text =
                "STATUS=thread " + std::to_string(t) + " message " + std::to_string(i);
            EXPECT_EQ(std::count(got.begin(), got.end(), text), 1) << text;
        }
    }
    expect_nothing_sent(manager);
}

}  // namespace
