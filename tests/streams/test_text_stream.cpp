// text_receive_stream / text_send_stream / text_stream over real socketpairs: whole code
// points only, invalid UTF-8 as an error naming its offset or as U+FFFD, and every error.

#include <anyio/anyio.hpp>

#include "streams/one_byte_stream.hpp"
#include "support/run_helpers.hpp"
#include "support/stream_helpers.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using anyio_test::one_byte_at_a_time;
using anyio_test::run_guarded;
using anyio_test::settle;
using anyio_test::socket_pair;

// Two-, three- and four-byte code points.
const std::string mixed =
    "gr\xC3\xBC\xC3\x9F"
    "e \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x8E\x89!";

// Everything a text stream returns until the end, one piece per receive.
template <class Stream>
anyio::task<std::vector<std::string>> receive_pieces(Stream& stream) {
    std::vector<std::string> pieces;
    for (;;) {
        try {
            pieces.push_back(co_await stream.receive());
        } catch (const anyio::end_of_stream&) {
            co_return pieces;
        }
    }
}

// Whether `text` starts and ends on a code point boundary.
bool whole_code_points(const std::string& text) {
    const auto continuation = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; };
    if (text.empty() || continuation(text.front())) return false;
    const auto lead = static_cast<unsigned char>(text.back());
    return lead < 0x80 || continuation(text.back());
}

// The bytes arrive one at a time, so every multibyte code point is split across
// receives: each text receive still returns exactly one whole code point.
TEST(TextStream, ReceivesWholeCodePointsWhenASequenceIsSplit) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        co_await ends.first.send(mixed);
        co_await ends.first.send_eof();
        anyio::text_receive_stream in(one_byte_at_a_time(std::move(ends.second)));
        const std::vector<std::string> pieces = co_await receive_pieces(in);
        std::string joined;
        for (const std::string& piece : pieces) {
            EXPECT_TRUE(whole_code_points(piece)) << "a piece of " << piece.size() << " bytes";
            joined += piece;
        }
        EXPECT_EQ(joined, mixed);
        EXPECT_EQ(pieces.size(), 11u);  // code points in `mixed`
    });
}

TEST(TextStream, InvalidInputIsADecodingErrorNamingItsOffsetAndReceivingGoesOn) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        co_await ends.first.send("ok\xFFrest");
        co_await ends.first.send_eof();
        anyio::text_receive_stream in(std::move(ends.second));
        const std::string before = co_await in.receive();
        EXPECT_EQ(before, "ok");  // the text before the bad byte first
        std::string message;
        std::size_t offset = 0;
        try {
            (void)co_await in.receive();
        } catch (const anyio::decoding_error& error) {
            message = error.what();
            offset = error.offset();
        }
        EXPECT_EQ(message,
                  "anyio: text stream receive: invalid UTF-8 at byte offset 2 (byte 0xFF)");
        EXPECT_EQ(offset, 2u);
        const std::string after = co_await in.receive();
        EXPECT_EQ(after, "rest");
    });
}

// Each kind of invalid sequence, and the same bytes decoded with text_errors::replace
// (which Python's bytes.decode("utf-8", "replace") agrees with).
TEST(TextStream, EveryKindOfInvalidSequenceIsCaughtOrReplaced) {
    struct bad_case {
        std::string bytes;
        std::string error;     // what() of the strict stream's first error
        std::string replaced;  // what the replacing stream returns
    };
    const std::string fffd = "\xEF\xBF\xBD";
    const std::vector<bad_case> cases = {
        {"\x80", "at byte offset 0 (byte 0x80)", fffd},                             // continuation
        {"\xC0\xAF", "at byte offset 0 (byte 0xC0)", fffd + fffd},                  // overlong
        {"\xE0\x80\xAF", "(byte 0xE0 followed by byte 0x80)", fffd + fffd + fffd},  // overlong
        {"\xED\xA0\x80", "(byte 0xED followed by byte 0xA0)", fffd + fffd + fffd},  // surrogate
        {"\xF4\x90\x80\x80", "(byte 0xF4 followed by byte 0x90)", fffd + fffd + fffd + fffd},
        {"\xF5", "(byte 0xF5)", fffd},
        {"\xE6\x97x", "(byte 0xE6 followed by byte 0x78)", fffd + "x"},  // cut short
        {"ab\xE6\x97",
         "at byte offset 2 (byte 0xE6, a code point cut off by the end of the stream)",
         "ab" + fffd},
    };
    for (const bad_case& c : cases) {
        run_guarded([&]() -> anyio::task<> {
            auto strict_ends = socket_pair();
            auto replace_ends = socket_pair();
            for (auto* ends : {&strict_ends, &replace_ends}) {
                co_await ends->first.send(c.bytes);
                co_await ends->first.send_eof();
            }
            anyio::text_receive_stream strict(std::move(strict_ends.second));
            std::string message;
            for (;;) {
                try {
                    (void)co_await strict.receive();
                } catch (const anyio::decoding_error& error) {
                    message = error.what();
                    break;
                } catch (const anyio::end_of_stream&) {
                    break;
                }
            }
            EXPECT_NE(message.find(c.error), std::string::npos) << message;
            anyio::text_receive_stream lenient(std::move(replace_ends.second),
                                               anyio::text_errors::replace);
            const std::vector<std::string> pieces = co_await receive_pieces(lenient);
            std::string text;
            for (const std::string& piece : pieces)
                text += piece;
            EXPECT_EQ(text, c.replaced);
        });
    }
}

TEST(TextStream, SendChecksTheTextBeforeSendingAnything) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        anyio::text_send_stream out(std::move(ends.first));
        co_await out.send(mixed);
        std::string message;
        std::size_t offset = 0;
        try {
            co_await out.send("bad\xC3");
        } catch (const anyio::decoding_error& error) {
            message = error.what();
            offset = error.offset();
        }
        EXPECT_EQ(message,
                  "anyio: text stream send: invalid UTF-8 at byte offset 3 (byte 0xC3, a code "
                  "point cut off at the end of the text)");
        EXPECT_EQ(offset, 3u);
        bool is_invalid_argument = false;
        try {
            co_await out.send("\xFF");
        } catch (const std::invalid_argument&) {
            is_invalid_argument = true;
        }
        EXPECT_TRUE(is_invalid_argument);
        co_await out.aclose();
        const std::string got = co_await anyio_test::receive_all(ends.second);
        EXPECT_EQ(got, mixed);  // nothing of the refused sends
    });
}

TEST(TextStream, SendWithReplaceSendsTheReplacementCharacter) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        anyio::text_send_stream out(std::move(ends.first), anyio::text_errors::replace);
        co_await out.send("x\xFFy\xE6\x97");
        co_await out.aclose();
        const std::string got = co_await anyio_test::receive_all(ends.second);
        EXPECT_EQ(got, "x\xEF\xBF\xBDy\xEF\xBF\xBD");
    });
}

TEST(TextStream, BothWaysOverOneByteStreamWithHalfClose) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        anyio::text_stream left(std::move(ends.first));
        anyio::text_stream right(std::move(ends.second));
        co_await left.send("question \xE2\x9D\x93");
        co_await left.send_eof();
        const std::vector<std::string> pieces = co_await receive_pieces(right);
        std::string heard;
        for (const std::string& piece : pieces)
            heard += piece;
        EXPECT_EQ(heard, "question \xE2\x9D\x93");
        co_await right.send("answer");
        const std::string answer = co_await left.receive();
        EXPECT_EQ(answer, "answer");
    });
}

// Cancelled while it holds the first byte of a code point: nothing is lost, the next
// receive returns the whole code point.
TEST(TextStream, ACancelledReceiveKeepsAHeldBackPartialCodePoint) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        anyio::text_receive_stream in(std::move(ends.second));
        co_await ends.first.send("\xE6");
        bool cancelled = true;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                (void)co_await in.receive();
                cancelled = false;
            });
            co_await settle();
            tg.cancel_scope().cancel();
        });
        EXPECT_TRUE(cancelled);
        co_await ends.first.send("\x97\xA5");
        const std::string got = co_await in.receive();
        EXPECT_EQ(got, "\xE6\x97\xA5");
    });
}

TEST(TextStream, TwoConcurrentReceivesAreBusy) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        anyio::text_stream in(std::move(ends.second));
        std::string message;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> { (void)co_await in.receive(); });
            co_await settle();
            try {
                (void)co_await in.receive();
            } catch (const anyio::busy_resource_error& error) {
                message = error.what();
            }
            co_await ends.first.send("x");
        });
        EXPECT_EQ(message, "anyio: another task is already receiving on this text stream");
    });
}

TEST(TextStream, TwoConcurrentSendsAreBusy) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        anyio::text_send_stream out(std::move(ends.first));
        const std::string big(32u << 20, 'x');  // more than the socket holds: the send waits
        std::string message;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> { co_await out.send(big); });
            co_await settle();
            try {
                co_await out.send("y");
            } catch (const anyio::busy_resource_error& error) {
                message = error.what();
            }
            tg.cancel_scope().cancel();
        });
        EXPECT_EQ(message, "anyio: another task is already sending on this text stream");
    });
}

TEST(TextStream, EveryOperationAfterCloseIsAClosedResourceError) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        anyio::text_stream both(std::move(ends.second));
        co_await both.aclose();
        co_await both.aclose();  // idempotent
        int closed = 0;
        std::string message;
        try {
            (void)co_await both.receive();
        } catch (const anyio::closed_resource_error& error) {
            ++closed;
            message = error.what();
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
        EXPECT_EQ(closed, 3);
        EXPECT_EQ(message, "anyio: receive on a closed text stream");

        anyio::text_receive_stream in(std::move(ends.first));
        anyio::text_receive_stream taken(std::move(in));
        bool moved_from = false;
        try {
            (void)co_await in.receive();  // NOLINT(bugprone-use-after-move)
        } catch (const anyio::closed_resource_error&) {
            moved_from = true;
        }
        EXPECT_TRUE(moved_from);
        // The peer of the closed text stream saw its end.
        bool ended = false;
        try {
            (void)co_await taken.receive();
        } catch (const anyio::end_of_stream&) {
            ended = true;
        }
        EXPECT_TRUE(ended);
    });
}

TEST(TextStream, APeerResetIsABrokenResource) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        anyio::text_stream in(std::move(ends.second));
        co_await in.send("unread");
        ends.first.close();  // closing with unread data resets the connection
        bool broken = false;
        try {
            (void)co_await in.receive();
        } catch (const anyio::broken_resource_error&) {
            broken = true;
        }
        EXPECT_TRUE(broken);
    });
}

TEST(TextStream, ANullStreamIsRefused) {
    EXPECT_THROW(anyio::text_receive_stream(std::unique_ptr<anyio::abc::byte_receive_stream>()),
                 std::invalid_argument);
    EXPECT_THROW(anyio::text_send_stream(std::unique_ptr<anyio::abc::byte_send_stream>()),
                 std::invalid_argument);
    EXPECT_THROW(anyio::text_stream(std::unique_ptr<anyio::abc::byte_stream>()),
                 std::invalid_argument);
}

// Text over a buffered stream: the text stream gets the bytes the buffered one holds.
TEST(TextStream, WrapsABufferedStream) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        co_await ends.first.send("header\n\xC3\xA9t\xC3\xA9");
        co_await ends.first.send_eof();
        anyio::buffered_byte_stream buffered(std::move(ends.second));
        const std::string header = co_await buffered.receive_until("\n", 100);
        EXPECT_EQ(header, "header");
        anyio::text_stream text(std::move(buffered));
        const std::vector<std::string> pieces = co_await receive_pieces(text);
        std::string body;
        for (const std::string& piece : pieces)
            body += piece;
        EXPECT_EQ(body, "\xC3\xA9t\xC3\xA9");
    });
}

}  // namespace
