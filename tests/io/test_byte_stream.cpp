// byte_stream over real socketpairs and pipes: data, end of stream, errors, cancellation
// and closing, all through the loop's epoll.

#include <anyio/anyio.hpp>

#include "support/run_helpers.hpp"
#include "support/stream_helpers.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>

#include <sys/socket.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using anyio_test::pattern;
using anyio_test::receive_all;
using anyio_test::run_autojump;
using anyio_test::run_guarded;
using anyio_test::settle;
using anyio_test::socket_pair;

// {read end, write end}
std::pair<anyio::byte_stream, anyio::byte_stream> pipe_pair() {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe");
    return {anyio::byte_stream::adopt(fds[0]), anyio::byte_stream::adopt(fds[1])};
}

TEST(ByteStream, SendThenReceiveOverASocketPair) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        co_await ends.first.send("hello");
        const std::string got = co_await ends.second.receive();
        EXPECT_EQ(got, "hello");
    });
}

TEST(ByteStream, ReceiveWaitsUntilTheOtherTaskSends) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        std::string got;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> { got = co_await ends.second.receive(); });
            co_await settle();
            EXPECT_TRUE(got.empty());
            co_await ends.first.send("late");
        });
        EXPECT_EQ(got, "late");
    });
}

TEST(ByteStream, SendEofEndsTheStreamForThePeerWhoCanStillReply) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        co_await ends.first.send("question");
        co_await ends.first.send_eof();
        co_await ends.first.send_eof();  // idempotent
        EXPECT_EQ(co_await receive_all(ends.second), "question");
        bool ended = false;
        try {
            (void)co_await ends.second.receive();
        } catch (const anyio::end_of_stream&) {
            ended = true;
        }
        EXPECT_TRUE(ended);
        co_await ends.second.send("answer");  // the other direction still works
        EXPECT_EQ(co_await ends.first.receive(), "answer");
        bool refused = false;
        try {
            co_await ends.first.send("more");
        } catch (const anyio::closed_resource_error&) {
            refused = true;
        }
        EXPECT_TRUE(refused);
    });
}

// The one end-of-stream convention (abc/byte_streams.hpp): receive_into throws
// end_of_stream like receive, and never returns 0; again on every later call, on a socket
// and on a pipe.
TEST(ByteStream, ReceiveIntoThrowsEndOfStreamAndNeverReturnsZero) {
    run_guarded([]() -> anyio::task<> {
        auto sockets = socket_pair();
        auto pipe = pipe_pair();
        co_await sockets.first.send("ab");
        co_await sockets.first.send_eof();
        co_await pipe.second.send("ab");
        co_await pipe.second.send_eof();  // closes the write end
        for (anyio::byte_stream* reader : {&sockets.second, &pipe.first}) {
            char buffer[8];
            const std::size_t n = co_await reader->receive_into(buffer);
            EXPECT_EQ(std::string(buffer, n), "ab");
            int ends = 0;
            for (int i = 0; i < 2; ++i) {
                try {
                    const std::size_t after = co_await reader->receive_into(buffer);
                    ADD_FAILURE() << "receive_into returned " << after << " at the end";
                } catch (const anyio::end_of_stream& error) {
                    EXPECT_STREQ(error.what(), "anyio: end of stream");
                    ++ends;
                }
            }
            EXPECT_EQ(ends, 2);
        }
    });
}

TEST(ByteStream, CancelledReceiveLosesNoData) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        // Many receives cut short by a deadline while data trickles in: every byte sent
        // must come out exactly once, in order.
        const std::string sent = pattern(200'000, 7);
        std::string got;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                for (std::size_t off = 0; off < sent.size(); off += 1000) {
                    co_await ends.first.send(std::string_view(sent).substr(off, 1000));
                    if (off % 20'000 == 0) co_await anyio::sleep(1ms);
                }
                co_await ends.first.send_eof();
            });
            char buffer[777];
            for (bool ended = false; !ended;) {
                std::size_t n = 0;
                const bool finished = co_await anyio::move_on_after(200us, [&]() -> anyio::task<> {
                    try {
                        n = co_await ends.second.receive_into(buffer);
                    } catch (const anyio::end_of_stream&) {
                        ended = true;
                    }
                });
                if (!finished) continue;
                got.append(buffer, n);
            }
        });
        EXPECT_EQ(got.size(), sent.size());
        EXPECT_TRUE(got == sent);
    });
}

TEST(ByteStream, ClosingWakesABlockedReceiverWithClosedResourceError) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        bool closed_error = false;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                try {
                    (void)co_await ends.second.receive();
                } catch (const anyio::closed_resource_error&) {
                    closed_error = true;
                }
            });
            co_await settle();
            co_await ends.second.aclose();
        });
        EXPECT_TRUE(closed_error);
        EXPECT_FALSE(ends.second.is_open());
        EXPECT_EQ(ends.second.native_handle(), -1);
    });
}

TEST(ByteStream, OperationsAfterCloseRaiseClosedResourceError) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        ends.first.close();
        int errors = 0;
        try {
            co_await ends.first.send("x");
        } catch (const anyio::closed_resource_error&) {
            ++errors;
        }
        try {
            (void)co_await ends.first.receive();
        } catch (const anyio::closed_resource_error&) {
            ++errors;
        }
        anyio::byte_stream empty;
        try {
            (void)co_await empty.receive();
        } catch (const anyio::closed_resource_error&) {
            ++errors;
        }
        EXPECT_EQ(errors, 3);
    });
}

TEST(ByteStream, SecondConcurrentReceiveIsBusy) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        bool busy = false;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> { (void)co_await ends.second.receive(); });
            co_await settle();
            try {
                (void)co_await ends.second.receive();
            } catch (const anyio::busy_resource_error&) {
                busy = true;
            }
            co_await ends.first.send("x");
        });
        EXPECT_TRUE(busy);
    });
}

TEST(ByteStream, PeerResetIsABrokenResource) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        co_await ends.second.send("unread");
        ends.first.close();  // closing with unread data resets the connection
        bool broken = false;
        try {
            (void)co_await ends.second.receive();
        } catch (const anyio::broken_resource_error&) {
            broken = true;
        }
        EXPECT_TRUE(broken);
    });
}

TEST(ByteStream, WritingToAPipeWithoutReaderIsBrokenAndDoesNotKill) {
    run_guarded([]() -> anyio::task<> {
        auto ends = pipe_pair();
        ends.first.close();
        bool broken = false;
        try {
            co_await ends.second.send("nobody listens");
        } catch (const anyio::broken_resource_error&) {
            broken = true;
        }
        EXPECT_TRUE(broken);
        sigset_t pending;
        sigpending(&pending);
        EXPECT_EQ(sigismember(&pending, SIGPIPE), 0) << "the SIGPIPE was consumed";
    });
}

TEST(ByteStream, PipeCarries64MiBIntact) {
    run_guarded([]() -> anyio::task<> {
        auto ends = pipe_pair();
        const std::string sent = pattern(64u << 20, 42);
        std::string got;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await ends.second.send(sent);
                co_await ends.second.send_eof();  // closes the write end
                EXPECT_FALSE(ends.second.is_open());
            });
            got = co_await receive_all(ends.first);
        });
        EXPECT_EQ(got.size(), sent.size());
        EXPECT_TRUE(got == sent);
    });
}

TEST(ByteStream, FullDuplexSendAndReceiveAtOnce) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        // Each side sends far more than the socket buffers hold before reading: only
        // concurrent send and receive on one stream finishes this.
        const std::string a = pattern(8u << 20, 1);
        const std::string b = pattern(8u << 20, 2);
        std::string got_a;
        std::string got_b;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await ends.first.send(a);
                co_await ends.first.send_eof();
            });
            tg.start_soon([&]() -> anyio::task<> {
                co_await ends.second.send(b);
                co_await ends.second.send_eof();
            });
            tg.start_soon([&]() -> anyio::task<> { got_a = co_await receive_all(ends.second); });
            got_b = co_await receive_all(ends.first);
        });
        EXPECT_TRUE(got_a == a);
        EXPECT_TRUE(got_b == b);
    });
}

TEST(ByteStream, CancelledSendReportsCancelledAndTheStreamStaysUsable) {
    run_autojump([]() -> anyio::task<> {
        auto ends = socket_pair();
        const std::string big = pattern(16u << 20, 3);  // more than the buffers hold
        const bool finished = co_await anyio::move_on_after(
            20ms, [&]() -> anyio::task<> { co_await ends.first.send(big); });
        EXPECT_FALSE(finished);
        co_await ends.first.send_eof();
        const std::string got = co_await receive_all(ends.second);
        EXPECT_GT(got.size(), 0u);
        EXPECT_LT(got.size(), big.size());
        EXPECT_TRUE(got == big.substr(0, got.size())) << "the peer sees a prefix";
    });
}

TEST(ByteStream, BadArgumentsAreRefused) {
    EXPECT_THROW((void)anyio::byte_stream::adopt(-1), std::invalid_argument);
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        int refused = 0;
        try {
            (void)co_await ends.first.receive(0);
        } catch (const std::invalid_argument&) {
            ++refused;
        }
        try {
            (void)co_await ends.first.receive_into({});
        } catch (const std::invalid_argument&) {
            ++refused;
        }
        EXPECT_EQ(refused, 2);
    });
}

}  // namespace

namespace {

TEST(ByteStream, ABusyTaskDoesNotStarveAReceiver) {
    run_guarded([]() -> anyio::task<> {
        auto ends = socket_pair();
        std::string got;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            // Always ready: the loop never sleeps, so readiness must still be polled.
            tg.start_soon([]() -> anyio::task<> {
                for (;;)
                    co_await anyio::checkpoint();
            });
            // Sent by another thread once the receiver is parked in epoll's care.
            std::jthread sender([fd = ends.first.native_handle()] {
                std::this_thread::sleep_for(20ms);
                EXPECT_EQ(::write(fd, "through", 7), 7);
            });
            got = co_await ends.second.receive();
            tg.cancel_scope().cancel();
        });
        EXPECT_EQ(got, "through");
    });
}

}  // namespace

namespace {

TEST(ByteStream, OutlivesItsLoopAndServesTheNextOne) {
    // Registered with the first loop's epoll, then used by a second loop after the first
    // is gone, then destroyed outside any loop: ASan would catch a dangling loop.
    auto ends = socket_pair();
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon(
                [&]() -> anyio::task<> { EXPECT_EQ(co_await ends.second.receive(), "one"); });
            co_await settle();
            co_await ends.first.send("one");
        });
    });
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon(
                [&]() -> anyio::task<> { EXPECT_EQ(co_await ends.second.receive(), "two"); });
            co_await settle();
            co_await ends.first.send("two");
        });
    });
}

TEST(ByteStream, UsingAStreamFromASecondLoopWhileTheFirstHoldsItIsRefused) {
    auto ends = socket_pair();
    bool refused = false;
    run_guarded([&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                try {
                    (void)co_await ends.second.receive();
                } catch (const anyio::closed_resource_error&) {
                }
            });
            co_await settle();
            // Registered with this loop now; a loop on another thread may not use it.
            std::thread([&] {
                anyio::run([&]() -> anyio::task<> {
                    try {
                        // More than the socket buffers hold: the send must wait.
                        co_await ends.second.send(pattern(16u << 20, 5));
                    } catch (const std::logic_error&) {
                        refused = true;
                    }
                });
            }).join();
            ends.second.close();
        });
    });
    EXPECT_TRUE(refused);
}

}  // namespace
