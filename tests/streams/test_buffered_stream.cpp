// buffered_byte_receive_stream / buffered_byte_stream over real socketpairs and TCP
// connections: records by delimiter and by size, the buffer's bound, the search that never
// rescans, cancellation, and every error.

#include <anyio/anyio.hpp>

#include "streams/one_byte_stream.hpp"
#include "support/run_helpers.hpp"
#include "support/stream_helpers.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>

namespace {

using namespace std::chrono_literals;
using anyio_test::one_byte_at_a_time;
using anyio_test::pattern;
using anyio_test::run_guarded;
using anyio_test::settle;
using anyio_test::socket_pair;

TEST(BufferedStream, ReceiveUntilReturnsEachRecordAndConsumesItsDelimiter) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        co_await ends.first.send("one\ntwo\r\nthree\n\nfour\n");
        co_await ends.first.send_eof();
        anyio::buffered_byte_receive_stream in(std::move(ends.second));
        {
            const auto got1 = co_await in.receive_until("\n", 100);
            EXPECT_EQ(got1, "one");
        }
        {
            const auto got2 = co_await in.receive_until("\r\n", 100);
            EXPECT_EQ(got2, "two");
        }
        {
            const auto got3 = co_await in.receive_until("\n", 100);
            EXPECT_EQ(got3, "three");
        }
        {
            const auto got4 = co_await in.receive_until("\n", 100);
            EXPECT_EQ(got4, "");
        }  // an empty record
        {
            const auto got5 = co_await in.receive_until("\n", 100);
            EXPECT_EQ(got5, "four");
        }
        bool ended = false;
        try {
            (void)co_await in.receive_until("\n", 100);
        } catch (const anyio::end_of_stream&) {
            ended = true;  // between records: the plain end of the stream
        }
        EXPECT_TRUE(ended);
    });
}

// The doc's loop: every line of a TCP peer, one receive_until per line, until the end.
TEST(BufferedStream, LinesOneAfterAnotherOverTcpInOneLoop) {
    run_guarded([]() -> anyio::task<> {
        auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
        constexpr int lines = 5000;
        std::string all;
        for (int i = 0; i < lines; ++i)
            all += "line " + std::to_string(i) + "\n";
        int received = 0;
        bool in_order = true;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                auto client = co_await anyio::connect_tcp("127.0.0.1", listener.port());
                for (std::size_t off = 0; off < all.size(); off += 777)
                    co_await client.send(std::string_view(all).substr(off, 777));
                co_await client.send_eof();
            });
            anyio::socket_stream accepted = co_await listener.accept();
            anyio::buffered_byte_stream server(std::move(accepted));
            for (;;) {
                std::string line;
                try {
                    line = co_await server.receive_until("\n", 100);
                } catch (const anyio::end_of_stream&) {
                    break;
                }
                in_order = in_order && line == "line " + std::to_string(received);
                ++received;
            }
        });
        EXPECT_EQ(received, lines);
        EXPECT_TRUE(in_order);
    });
}

TEST(BufferedStream, ADelimiterSplitAcrossReceivesIsFound) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        co_await ends.first.send("abc<END>def<END>");
        anyio::buffered_byte_receive_stream in(one_byte_at_a_time(std::move(ends.second)));
        {
            const auto got6 = co_await in.receive_until("<END>", 100);
            EXPECT_EQ(got6, "abc");
        }
        {
            const auto got7 = co_await in.receive_until("<END>", 100);
            EXPECT_EQ(got7, "def");
        }
    });
}

TEST(BufferedStream, ReceiveExactlyReturnsThatManyBytes) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        anyio::buffered_byte_stream in(std::move(ends.second));
        const std::string big = pattern(300'000, 3);
        std::string header;
        std::string body;
        std::string empty = "not empty";
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await ends.first.send("ab");
                co_await anyio::sleep(1ms);
                co_await ends.first.send("cd");
                co_await ends.first.send(big);
            });
            header = co_await in.receive_exactly(4);
            empty = co_await in.receive_exactly(0);
            body = co_await in.receive_exactly(big.size());
        });
        EXPECT_EQ(header, "abcd");
        EXPECT_EQ(empty, "");
        EXPECT_TRUE(body == big);
        EXPECT_EQ(in.statistics().buffered_bytes, 0u);
    });
}

TEST(BufferedStream, ReceiveAndReceiveIntoReturnBufferedBytesFirst) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        co_await ends.first.send("line\nrest");
        anyio::buffered_byte_receive_stream in(std::move(ends.second));
        {
            const auto got8 = co_await in.receive_until("\n", 100);
            EXPECT_EQ(got8, "line");
        }
        EXPECT_EQ(in.buffer(), "rest");
        {
            const auto got9 = co_await in.receive(2);
            EXPECT_EQ(got9, "re");
        }
        char buffer[16];
        const std::size_t n = co_await in.receive_into(buffer);
        EXPECT_EQ(std::string(buffer, n), "st");  // the buffered bytes only, no wait
        co_await ends.first.send("more");
        const std::size_t m = co_await in.receive_into(buffer);
        EXPECT_EQ(std::string(buffer, m), "more");
        co_await ends.first.send_eof();
        bool ended = false;
        try {
            (void)co_await in.receive();
        } catch (const anyio::end_of_stream&) {
            ended = true;
        }
        EXPECT_TRUE(ended);
    });
}

TEST(BufferedStream, TheEndInTheMiddleOfARecordIsAnIncompleteReadThatKeepsTheBytes) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        co_await ends.first.send("partial");
        co_await ends.first.send_eof();
        anyio::buffered_byte_receive_stream in(std::move(ends.second));
        std::string message;
        std::size_t received = 0;
        try {
            (void)co_await in.receive_until("\n", 100);
        } catch (const anyio::incomplete_read& error) {
            message = error.what();
            received = error.received();
        }
        EXPECT_EQ(message, "anyio: the stream ended after 7 bytes, before the delimiter");
        EXPECT_EQ(received, 7u);
        try {
            (void)co_await in.receive_exactly(10);
        } catch (const anyio::incomplete_read& error) {
            message = error.what();
        }
        EXPECT_EQ(message, "anyio: the stream ended after 7 bytes, before the 10 bytes asked for");
        {
            const auto got10 = co_await in.receive();
            EXPECT_EQ(got10, "partial");
        }  // kept for the caller
        int ends_seen = 0;
        try {
            (void)co_await in.receive_exactly(1);
        } catch (const anyio::end_of_stream&) {
            ++ends_seen;
        }
        try {
            (void)co_await in.receive_until("\n", 100);
        } catch (const anyio::end_of_stream&) {
            ++ends_seen;
        }
        EXPECT_EQ(ends_seen, 2);
    });
}

// The buffer holds at most max_bytes: the search reads no more than fits, and fails once
// max_bytes bytes are there without the delimiter. An unbounded reader would take all
// 8000 bytes the socket holds.
TEST(BufferedStream, TheBufferNeverGrowsPastMaxBytes) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        co_await ends.first.send(std::string(8000, 'x'));
        anyio::buffered_byte_receive_stream in(std::move(ends.second));
        std::string message;
        std::size_t limit = 0;
        try {
            (void)co_await in.receive_until("\n", 1000);
        } catch (const anyio::delimiter_not_found& error) {
            message = error.what();
            limit = error.max_bytes();
        }
        EXPECT_EQ(message, "anyio: the delimiter was not found in the first 1000 bytes");
        EXPECT_EQ(limit, 1000u);
        EXPECT_EQ(in.statistics().buffered_bytes, 1000u);
        EXPECT_LE(in.statistics().storage_bytes, 1000u);
        EXPECT_EQ(in.buffer(), std::string(1000, 'x'));
        // Again at once, from the buffer: still nothing more read.
        bool again = false;
        try {
            (void)co_await in.receive_until("\n", 1000);
        } catch (const anyio::delimiter_not_found&) {
            again = true;
        }
        EXPECT_TRUE(again);
        EXPECT_EQ(in.statistics().buffered_bytes, 1000u);
        const std::string rest = co_await in.receive_exactly(7000);
        EXPECT_EQ(rest.size(), 7000u);
    });
}

TEST(BufferedStream, TheDelimiterMustEndWithinMaxBytes) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        const std::string at_limit = std::string(999, 'a') + "\n";  // 1000 bytes
        const std::string over = std::string(1000, 'b') + "\n";     // 1001 bytes
        co_await ends.first.send(at_limit + over);
        anyio::buffered_byte_receive_stream in(std::move(ends.second));
        {
            const auto got11 = co_await in.receive_until("\n", 1000);
            EXPECT_EQ(got11, std::string(999, 'a'));
        }
        bool refused = false;
        try {
            (void)co_await in.receive_until("\n", 1000);
        } catch (const anyio::delimiter_not_found&) {
            refused = true;
        }
        EXPECT_TRUE(refused);
        {
            const auto got12 = co_await in.receive_until("\n", 1001);
            EXPECT_EQ(got12, std::string(1000, 'b'));
        }
    });
}

// A record that arrives one byte at a time: each byte is searched once (with a one-byte
// delimiter, exactly once), so the work is linear in the record's length. Searching the
// whole buffer on every receive would examine about n^2 / 2 bytes (50 million here).
TEST(BufferedStream, ASearchNeverRescansBytesAlreadyScanned) {
    run_guarded([]() -> anyio::task<> {
        constexpr std::size_t n = 10'000;
        auto ends = socket_pair();
        co_await ends.first.send(std::string(n, 'a') + "\n" + std::string(n, 'b') + "\r\n");
        one_byte_at_a_time slow(std::move(ends.second));
        auto owned = std::make_unique<one_byte_at_a_time>(std::move(slow));
        one_byte_at_a_time* peer = owned.get();
        anyio::buffered_byte_receive_stream in(std::move(owned));
        const std::string first = co_await in.receive_until("\n", 2 * n);
        EXPECT_EQ(first.size(), n);
        EXPECT_EQ(peer->receives, static_cast<int>(n + 1));  // it did arrive a byte at a time
        EXPECT_EQ(in.statistics().bytes_examined, n + 1);
        // A two-byte delimiter: the last byte of each search is searched again (it may be
        // the delimiter's first half), nothing else.
        const std::string second = co_await in.receive_until("\r\n", 2 * n);
        EXPECT_EQ(second.size(), n);
        const std::uint64_t examined = in.statistics().bytes_examined - (n + 1);
        EXPECT_LE(examined, 2 * (n + 2));
        EXPECT_GE(examined, n + 2);
    });
}

// Cancelled while it waits for the rest of a line: the bytes it already has stay buffered,
// and the next call returns the whole line.
TEST(BufferedStream, ACancelledReceiveUntilLeavesItsBytesForTheNextCall) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        anyio::buffered_byte_receive_stream in(std::move(ends.second));
        co_await ends.first.send("hel");
        bool cancelled = true;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                (void)co_await in.receive_until("\n", 100);
                cancelled = false;
            });
            co_await settle();  // it has "hel" and waits for more
            tg.cancel_scope().cancel();
        });
        EXPECT_TRUE(cancelled);
        EXPECT_EQ(in.buffer(), "hel");
        co_await ends.first.send("lo\nworld\n");
        {
            const auto got13 = co_await in.receive_until("\n", 100);
            EXPECT_EQ(got13, "hello");
        }
        {
            const auto got14 = co_await in.receive_until("\n", 100);
            EXPECT_EQ(got14, "world");
        }
    });
}

// Receives cut short by a deadline at every point while lines trickle in: every line comes
// out exactly once, whole and in order, through receive_until and receive_exactly alike.
TEST(BufferedStream, ReceivesCutShortAnywhereLoseNoBytes) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        anyio::buffered_byte_receive_stream in(std::move(ends.second));
        constexpr int lines = 2000;
        std::string sent;
        for (int i = 0; i < lines; ++i)
            sent +=
                std::to_string(i) + ":" + std::string(static_cast<std::size_t>(i % 50), 'z') + "\n";
        std::string got;
        int cut_short = 0;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                for (std::size_t off = 0; off < sent.size(); off += 7) {
                    co_await ends.first.send(std::string_view(sent).substr(off, 7));
                    if (off % 700 == 0) co_await anyio::sleep(100us);
                }
                co_await ends.first.send_eof();
            });
            for (bool ended = false; !ended;) {
                std::string line;
                const bool finished = co_await anyio::move_on_after(50us, [&]() -> anyio::task<> {
                    try {
                        line = co_await in.receive_until("\n", 1000);
                        line += '\n';
                    } catch (const anyio::end_of_stream&) {
                        ended = true;
                    }
                });
                if (!finished) {
                    ++cut_short;
                    continue;
                }
                got += line;
            }
        });
        EXPECT_TRUE(got == sent) << got.size() << " of " << sent.size() << " bytes";
        std::printf("%d receives cut short\n", cut_short);
    });
}

TEST(BufferedStream, TwoConcurrentReceivesAreBusy) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        anyio::buffered_byte_stream in(std::move(ends.second));
        int busy = 0;
        std::string message;
        std::string first;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> { first = co_await in.receive_until("\n", 100); });
            co_await settle();
            try {
                (void)co_await in.receive_exactly(1);
            } catch (const anyio::busy_resource_error& error) {
                ++busy;
                message = error.what();
            }
            try {
                (void)co_await in.receive();
            } catch (const anyio::busy_resource_error&) {
                ++busy;
            }
            co_await ends.first.send("x\n");
        });
        EXPECT_EQ(busy, 2);
        EXPECT_EQ(message, "anyio: another task is already receiving on this buffered stream");
        EXPECT_EQ(first, "x");
    });
}

TEST(BufferedStream, TwoConcurrentSendsAreBusy) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        anyio::buffered_byte_stream out(std::move(ends.first));
        bool busy = false;
        const std::string big(32u << 20, 'x');  // more than the socket holds: the send waits
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> { co_await out.send(big); });
            co_await settle();
            try {
                co_await out.send("y");
            } catch (const anyio::busy_resource_error&) {
                busy = true;
            }
            tg.cancel_scope().cancel();
        });
        EXPECT_TRUE(busy);
    });
}

TEST(BufferedStream, EveryOperationAfterCloseIsAClosedResourceError) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        anyio::buffered_byte_stream stream(std::move(ends.second));
        co_await stream.aclose();
        co_await stream.aclose();  // idempotent
        int closed = 0;
        std::string message;
        try {
            (void)co_await stream.receive_until("\n", 10);
        } catch (const anyio::closed_resource_error& error) {
            ++closed;
            message = error.what();
        }
        try {
            (void)co_await stream.receive_exactly(1);
        } catch (const anyio::closed_resource_error&) {
            ++closed;
        }
        try {
            (void)co_await stream.receive();
        } catch (const anyio::closed_resource_error&) {
            ++closed;
        }
        try {
            co_await stream.send("x");
        } catch (const anyio::closed_resource_error&) {
            ++closed;
        }
        try {
            co_await stream.send_eof();
        } catch (const anyio::closed_resource_error&) {
            ++closed;
        }
        EXPECT_EQ(closed, 5);
        EXPECT_EQ(message, "anyio: receive_until on a closed buffered stream");
        // The wrapped stream was closed too: the peer sees the end.
        bool ended = false;
        try {
            (void)co_await ends.first.receive();
        } catch (const anyio::end_of_stream&) {
            ended = true;
        }
        EXPECT_TRUE(ended);

        anyio::buffered_byte_receive_stream moved(std::move(ends.first));
        anyio::buffered_byte_receive_stream to(std::move(moved));
        bool moved_from = false;
        try {
            (void)co_await moved.receive_until("\n", 10);  // NOLINT(bugprone-use-after-move)
        } catch (const anyio::closed_resource_error&) {
            moved_from = true;
        }
        EXPECT_TRUE(moved_from);
    });
}

// A task waiting in receive_until while another task closes the stream wakes with
// closed_resource_error (from the wrapped stream), and nothing leaks.
TEST(BufferedStream, ClosingWakesAWaitingReceiveUntil) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        anyio::buffered_byte_receive_stream in(std::move(ends.second));
        co_await ends.first.send("part");
        bool closed = false;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                try {
                    (void)co_await in.receive_until("\n", 100);
                } catch (const anyio::closed_resource_error&) {
                    closed = true;
                }
            });
            co_await settle();
            co_await in.aclose();
        });
        EXPECT_TRUE(closed);
    });
}

TEST(BufferedStream, APeerResetIsABrokenResource) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        anyio::buffered_byte_stream in(std::move(ends.second));
        co_await in.send("unread");
        ends.first.close();  // closing with unread data resets the connection
        bool broken = false;
        try {
            (void)co_await in.receive_until("\n", 100);
        } catch (const anyio::broken_resource_error&) {
            broken = true;
        }
        EXPECT_TRUE(broken);
    });
}

TEST(BufferedStream, BadArgumentsAreRefused) {
    EXPECT_THROW(
        anyio::buffered_byte_receive_stream(std::unique_ptr<anyio::abc::byte_receive_stream>()),
        std::invalid_argument);
    EXPECT_THROW(anyio::buffered_byte_stream(std::unique_ptr<anyio::abc::byte_stream>()),
                 std::invalid_argument);
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        anyio::buffered_byte_receive_stream in(std::move(ends.second));
        int refused = 0;
        std::string message;
        try {
            (void)co_await in.receive_until("", 10);
        } catch (const std::invalid_argument&) {
            ++refused;
        }
        try {
            (void)co_await in.receive_until("\r\n", 1);
        } catch (const std::invalid_argument& error) {
            ++refused;
            message = error.what();
        }
        try {
            (void)co_await in.receive(0);
        } catch (const std::invalid_argument&) {
            ++refused;
        }
        try {
            (void)co_await in.receive_into({});
        } catch (const std::invalid_argument&) {
            ++refused;
        }
        EXPECT_EQ(refused, 4);
        EXPECT_EQ(message,
                  "anyio: receive_until: max_bytes (1) is shorter than the delimiter (2 bytes)");
    });
}

// A buffered stream is itself an abc stream: a second buffered stream over it, and a send
// through a buffered_byte_stream reach the peer; send_eof passes through.
TEST(BufferedStream, IsItselfAByteStreamThatCanBeWrappedAgain) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        anyio::buffered_byte_stream left(std::move(ends.first));
        auto inner = std::make_unique<anyio::buffered_byte_receive_stream>(std::move(ends.second));
        anyio::buffered_byte_receive_stream right(std::move(inner));
        co_await left.send("a;b;");
        co_await left.send_eof();
        anyio::abc::byte_receive_stream& as_abc = right;
        {
            const auto got15 = co_await right.receive_until(";", 10);
            EXPECT_EQ(got15, "a");
        }
        {
            const auto got16 = co_await as_abc.receive();
            EXPECT_EQ(got16, "b;");
        }
        bool ended = false;
        try {
            (void)co_await as_abc.receive();
        } catch (const anyio::end_of_stream&) {
            ended = true;
        }
        EXPECT_TRUE(ended);
    });
}

}  // namespace
