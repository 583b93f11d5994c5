// stapled_byte_stream: a real `cat` child's stdin and stdout as one byte stream, and two
// pipes stapled together: send_eof, aclose and every error.

#include <anyio/anyio.hpp>

#include "support/run_helpers.hpp"
#include "support/stream_helpers.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

namespace {

using anyio_test::receive_all;
using anyio_test::run_guarded;
using anyio_test::settle;

// {read end, write end}
std::pair<anyio::byte_stream, anyio::byte_stream> pipe_pair() {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe");
    return {anyio::byte_stream::adopt(fds[0]), anyio::byte_stream::adopt(fds[1])};
}

// A conversation with `cat` through one stream: send_eof closes its stdin, so cat ends
// its output, and the buffered reader over the stapled stream sees the end.
TEST(StapledStream, TalksToACatChildAsOneByteStream) {
    run_guarded([]() -> anyio::task<> {
        const std::vector<std::string> argv = {"cat"};
        anyio::process cat = co_await anyio::open_process(argv);
        anyio::stapled_byte_stream both(std::move(cat.stdin_stream()),
                                        std::move(cat.stdout_stream()));
        anyio::buffered_byte_stream lines(std::move(both));
        co_await lines.send("one\n");
        const std::string first = co_await lines.receive_until("\n", 100);
        EXPECT_EQ(first, "one");
        co_await lines.send("two\n");
        co_await lines.send_eof();
        const std::string second = co_await lines.receive_until("\n", 100);
        EXPECT_EQ(second, "two");
        bool ended = false;
        try {
            (void)co_await lines.receive_until("\n", 100);
        } catch (const anyio::end_of_stream&) {
            ended = true;
        }
        EXPECT_TRUE(ended);
        const int code = co_await cat.wait();
        EXPECT_EQ(code, 0);
    });
}

TEST(StapledStream, SendEofClosesTheSendSideAndReceivingGoesOn) {
    run_guarded([]() -> anyio::task<> {
        auto outgoing = pipe_pair();
        auto incoming = pipe_pair();
        anyio::stapled_byte_stream both(std::move(outgoing.second), std::move(incoming.first));
        co_await both.send("out");
        co_await both.send_eof();
        co_await both.send_eof();  // idempotent
        const std::string sent = co_await receive_all(outgoing.first);
        EXPECT_EQ(sent, "out");
        std::string message;
        try {
            co_await both.send("more");
        } catch (const anyio::closed_resource_error& error) {
            message = error.what();
        }
        EXPECT_EQ(message, "anyio: send after send_eof");
        co_await incoming.second.send("in");
        const std::string got = co_await both.receive();
        EXPECT_EQ(got, "in");
    });
}

// aclose closes both streams: the reader of the send side sees the end, the writer of the
// receive side finds no reader.
TEST(StapledStream, AcloseClosesBothStreams) {
    run_guarded([]() -> anyio::task<> {
        auto outgoing = pipe_pair();
        auto incoming = pipe_pair();
        anyio::stapled_byte_stream both(std::move(outgoing.second), std::move(incoming.first));
        co_await both.aclose();
        co_await both.aclose();  // idempotent
        const std::string sent = co_await receive_all(outgoing.first);
        EXPECT_EQ(sent, "");
        bool broken = false;
        try {
            co_await incoming.second.send("x");
        } catch (const anyio::broken_resource_error&) {
            broken = true;
        }
        EXPECT_TRUE(broken);
        int closed = 0;
        std::string message;
        try {
            (void)co_await both.receive();
        } catch (const anyio::closed_resource_error& error) {
            ++closed;
            message = error.what();
        }
        char buffer[4];
        try {
            (void)co_await both.receive_into(buffer);
        } catch (const anyio::closed_resource_error&) {
            ++closed;
        }
        try {
            co_await both.send("x");
        } catch (const anyio::closed_resource_error&) {
            ++closed;
        }
        try {
            co_await both.send_eof();
        } catch (const anyio::closed_resource_error&) {
            ++closed;
        }
        EXPECT_EQ(closed, 4);
        EXPECT_EQ(message, "anyio: receive on a closed stapled stream");
    });
}

TEST(StapledStream, TheEndOfTheReceiveStreamIsEndOfStream) {
    run_guarded([]() -> anyio::task<> {
        auto outgoing = pipe_pair();
        auto incoming = pipe_pair();
        anyio::stapled_byte_stream both(std::move(outgoing.second), std::move(incoming.first));
        co_await incoming.second.send("last");
        incoming.second.close();
        char buffer[16];
        const std::size_t n = co_await both.receive_into(buffer);
        EXPECT_EQ(std::string(buffer, n), "last");
        int ends = 0;
        try {
            (void)co_await both.receive_into(buffer);
        } catch (const anyio::end_of_stream&) {
            ++ends;
        }
        try {
            (void)co_await both.receive();
        } catch (const anyio::end_of_stream&) {
            ++ends;
        }
        EXPECT_EQ(ends, 2);
    });
}

TEST(StapledStream, TwoConcurrentReceivesOrSendsAreBusy) {
    run_guarded([]() -> anyio::task<> {
        auto outgoing = pipe_pair();
        auto incoming = pipe_pair();
        anyio::stapled_byte_stream both(std::move(outgoing.second), std::move(incoming.first));
        std::vector<std::string> messages;
        const std::string big(4u << 20, 'x');  // more than a pipe holds: the send waits
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> { (void)co_await both.receive(); });
            tg.start_soon([&]() -> anyio::task<> { co_await both.send(big); });
            co_await settle();
            try {
                (void)co_await both.receive();
            } catch (const anyio::busy_resource_error& error) {
                messages.emplace_back(error.what());
            }
            try {
                co_await both.send("y");
            } catch (const anyio::busy_resource_error& error) {
                messages.emplace_back(error.what());
            }
            try {
                co_await both.send_eof();
            } catch (const anyio::busy_resource_error& error) {
                messages.emplace_back(error.what());
            }
            tg.cancel_scope().cancel();
        });
        const std::vector<std::string> expected = {
            "anyio: another task is already receiving on this stapled stream",
            "anyio: another task is already sending on this stapled stream",
            "anyio: send_eof while a send is running"};
        EXPECT_EQ(messages, expected);
    });
}

TEST(StapledStream, NullOrMovedFromStreamsAreRefused) {
    EXPECT_THROW(anyio::stapled_byte_stream(std::unique_ptr<anyio::abc::byte_send_stream>(),
                                            std::make_unique<anyio::byte_stream>()),
                 std::invalid_argument);
    EXPECT_THROW(anyio::stapled_byte_stream(std::make_unique<anyio::byte_stream>(),
                                            std::unique_ptr<anyio::abc::byte_receive_stream>()),
                 std::invalid_argument);
    run_guarded([]() -> anyio::task<> {
        auto outgoing = pipe_pair();
        auto incoming = pipe_pair();
        anyio::stapled_byte_stream both(std::move(outgoing.second), std::move(incoming.first));
        anyio::stapled_byte_stream taken(std::move(both));
        bool closed = false;
        try {
            co_await both.send("x");  // NOLINT(bugprone-use-after-move)
        } catch (const anyio::closed_resource_error&) {
            closed = true;
        }
        EXPECT_TRUE(closed);
        co_await taken.send("still works");
        co_await taken.aclose();
        const std::string sent = co_await receive_all(outgoing.first);
        EXPECT_EQ(sent, "still works");
    });
}

}  // namespace
