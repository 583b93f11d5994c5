// Memory object streams: buffering, rendezvous, backpressure, closing, clones,
// cancellation that never loses an item, move-only items, the nowait variants.
// (No structured bindings for the two ends here: clang 14 cannot capture them in lambdas.)
#include <anyio/anyio.hpp>

#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace {

using anyio_test::run_guarded;

// Lets every other ready task run (and park) a few times.
anyio::task<> settle(int rounds = 5) {
    for (int i = 0; i < rounds; ++i)
        co_await anyio::checkpoint();
}

// ---------------------------------------------------------------------------------------
// Buffering and order

TEST(MemoryStream, BufferedItemsComeOutInFifoOrder) {
    std::vector<int> got;
    run_guarded([&]() -> anyio::task<> {
        auto send_receive = anyio::create_memory_object_stream<int>(10);
        auto& send = send_receive.first;
        auto& receive = send_receive.second;
        for (int i = 0; i < 10; ++i)
            co_await send.send(i);
        EXPECT_EQ(send.statistics().current_buffer_used, 10U);
        for (int i = 0; i < 10; ++i) {
            const int item = co_await receive.receive();
            got.push_back(item);
        }
    });
    std::vector<int> expected(10);
    for (int i = 0; i < 10; ++i)
        expected[static_cast<std::size_t>(i)] = i;
    EXPECT_EQ(got, expected);
}

TEST(MemoryStream, RendezvousHandsTheItemToAWaitingReceiver) {
    std::vector<std::string> log;
    run_guarded([&]() -> anyio::task<> {
        auto send_receive = anyio::create_memory_object_stream<std::string>(0);
        auto& send = send_receive.first;
        auto& receive = send_receive.second;
        // Nobody waits: a rendezvous stream has no room at all.
        EXPECT_THROW(send.send_nowait("early"), anyio::would_block);
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                std::string item = co_await receive.receive();
                log.push_back("received " + item);
            });
            co_await settle();
            EXPECT_EQ(receive.statistics().tasks_waiting_receive, 1U);
            co_await send.send("hello");
            log.emplace_back("sent");
            // Handed over directly: nothing in the buffer.
            EXPECT_EQ(send.statistics().current_buffer_used, 0U);
        });
    });
    ASSERT_EQ(log.size(), 2U);
    EXPECT_NE(std::find(log.begin(), log.end(), "received hello"), log.end());
}

TEST(MemoryStream, RendezvousSenderWaitsForAReceiver) {
    std::vector<std::string> log;
    run_guarded([&]() -> anyio::task<> {
        auto send_receive = anyio::create_memory_object_stream<int>(0);
        auto& send = send_receive.first;
        auto& receive = send_receive.second;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await send.send(7);
                log.emplace_back("send returned");
            });
            co_await settle();
            EXPECT_TRUE(log.empty());
            EXPECT_EQ(send.statistics().tasks_waiting_send, 1U);
            const int item = co_await receive.receive();
            log.push_back("received " + std::to_string(item));
        });
    });
    // Both finish once the receiver took the item (the sender may run first: it was
    // woken before the receiver's own schedule point).
    ASSERT_EQ(log.size(), 2U);
    EXPECT_NE(std::find(log.begin(), log.end(), "received 7"), log.end());
    EXPECT_NE(std::find(log.begin(), log.end(), "send returned"), log.end());
}

TEST(MemoryStream, BackpressureBlocksTheSenderWhileTheBufferIsFull) {
    int sent = 0;
    run_guarded([&]() -> anyio::task<> {
        auto send_receive = anyio::create_memory_object_stream<int>(2);
        auto& send = send_receive.first;
        auto& receive = send_receive.second;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                for (int i = 0; i < 5; ++i) {
                    co_await send.send(i);
                    ++sent;
                }
            });
            co_await settle();
            EXPECT_EQ(sent, 2);  // the buffer holds two; the third send waits
            EXPECT_EQ(receive.statistics().current_buffer_used, 2U);
            EXPECT_EQ(receive.statistics().tasks_waiting_send, 1U);
            for (int i = 0; i < 5; ++i) {
                const int item = co_await receive.receive();
                EXPECT_EQ(item, i);
                co_await settle();
                // The sender refills the buffer right away but never beyond it.
                EXPECT_LE(receive.statistics().current_buffer_used, 2U);
            }
        });
    });
    EXPECT_EQ(sent, 5);
}

TEST(MemoryStream, ManyItemsBetweenProducersAndConsumersInTaskGroups) {
    constexpr int producers = 4;
    constexpr int per_producer = 2000;
    std::vector<std::vector<int>> seen(producers);  // per producer, in the order received
    std::vector<int> per_consumer(3, 0);
    run_guarded([&]() -> anyio::task<> {
        auto send_receive = anyio::create_memory_object_stream<int>(3);
        auto& send = send_receive.first;
        auto& receive = send_receive.second;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int c = 0; c < 3; ++c) {
                tg.start_soon(
                    [&seen, &per_consumer](anyio::memory_object_receive_stream<int> rx,
                                           int me) -> anyio::task<> {
                        for (;;) {
                            int item = 0;
                            try {
                                item = co_await rx.receive();
                            } catch (const anyio::end_of_stream&) {
                                co_return;
                            }
                            seen[static_cast<std::size_t>(item / per_producer)].push_back(
                                item % per_producer);
                            ++per_consumer[static_cast<std::size_t>(me)];
                        }
                    },
                    receive.clone(), c);
            }
            receive.close();
            co_await anyio::with_task_group([&](anyio::task_group& producers_tg) -> anyio::task<> {
                for (int p = 0; p < producers; ++p) {
                    producers_tg.start_soon(
                        [](anyio::memory_object_send_stream<int> tx, int me) -> anyio::task<> {
                            for (int i = 0; i < per_producer; ++i) {
                                co_await tx.send(me * per_producer + i);
                            }
                        },
                        send.clone(), p);
                }
                co_return;
            });
            send.close();  // the producers' clones are closed already: consumers finish
        });
    });
    std::vector<int> expected(per_producer);
    for (int i = 0; i < per_producer; ++i)
        expected[static_cast<std::size_t>(i)] = i;
    for (const auto& s : seen)
        EXPECT_EQ(s, expected);  // each exactly once, in order
    for (int n : per_consumer)
        EXPECT_GT(n, 0);
}

// ---------------------------------------------------------------------------------------
// Closing

TEST(MemoryStream, EndOfStreamAfterTheSendEndCloses) {
    std::vector<int> got;
    bool ended = false;
    run_guarded([&]() -> anyio::task<> {
        auto send_receive = anyio::create_memory_object_stream<int>(5);
        auto& send = send_receive.first;
        auto& receive = send_receive.second;
        co_await send.send(1);
        co_await send.send(2);
        send.close();
        EXPECT_TRUE(send.closed());
        // The buffer drains first.
        got.push_back(co_await receive.receive());
        got.push_back(receive.receive_nowait());
        EXPECT_THROW(receive.receive_nowait(), anyio::end_of_stream);
        try {
            (void)co_await receive.receive();
        } catch (const anyio::end_of_stream&) {
            ended = true;
        }
    });
    EXPECT_EQ(got, (std::vector<int>{1, 2}));
    EXPECT_TRUE(ended);
}

TEST(MemoryStream, ClosingTheLastSendEndWakesBlockedReceivers) {
    int ended = 0;
    run_guarded([&]() -> anyio::task<> {
        auto send_receive = anyio::create_memory_object_stream<int>(1);
        auto& send = send_receive.first;
        auto& receive = send_receive.second;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int i = 0; i < 3; ++i) {
                tg.start_soon([&]() -> anyio::task<> {
                    try {
                        (void)co_await receive.receive();
                    } catch (const anyio::end_of_stream&) {
                        ++ended;
                    }
                });
            }
            co_await settle();
            EXPECT_EQ(receive.statistics().tasks_waiting_receive, 3U);
            send.close();
        });
    });
    EXPECT_EQ(ended, 3);
}

TEST(MemoryStream, SendToAClosedReceiveSideIsABrokenResource) {
    int broken = 0;
    run_guarded([&]() -> anyio::task<> {
        auto send_receive = anyio::create_memory_object_stream<int>(1);
        auto& send = send_receive.first;
        auto& receive = send_receive.second;
        co_await send.send(1);  // fills the buffer
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                try {
                    co_await send.send(2);  // blocks: the buffer is full
                } catch (const anyio::broken_resource_error&) {
                    ++broken;
                }
            });
            co_await settle();
            EXPECT_EQ(send.statistics().tasks_waiting_send, 1U);
            receive.close();  // wakes the blocked sender
        });
        EXPECT_EQ(send.statistics().tasks_waiting_send, 0U);
        EXPECT_THROW(send.send_nowait(3), anyio::broken_resource_error);
        try {
            co_await send.send(4);
        } catch (const anyio::broken_resource_error&) {
            ++broken;
        }
    });
    EXPECT_EQ(broken, 2);
}

TEST(MemoryStream, UsingAClosedEndIsAClosedResource) {
    int closed_errors = 0;
    run_guarded([&]() -> anyio::task<> {
        auto send_receive = anyio::create_memory_object_stream<int>(1);
        auto& send = send_receive.first;
        auto& receive = send_receive.second;
        auto send2 = send.clone();
        auto receive2 = receive.clone();
        send.close();
        send.close();  // idempotent
        receive.close();
        EXPECT_THROW(send.send_nowait(1), anyio::closed_resource_error);
        EXPECT_THROW((void)send.clone(), anyio::closed_resource_error);
        EXPECT_THROW((void)receive.receive_nowait(), anyio::closed_resource_error);
        EXPECT_THROW((void)receive.clone(), anyio::closed_resource_error);
        try {
            co_await send.send(1);
        } catch (const anyio::closed_resource_error&) {
            ++closed_errors;
        }
        try {
            (void)co_await receive.receive();
        } catch (const anyio::closed_resource_error&) {
            ++closed_errors;
        }
        // A moved-from end counts as closed.
        auto moved = std::move(send2);
        EXPECT_TRUE(send2.closed());  // NOLINT(bugprone-use-after-move)
        EXPECT_THROW(send2.send_nowait(1), anyio::closed_resource_error);
        // The clones still work.
        moved.send_nowait(5);
        EXPECT_EQ(receive2.receive_nowait(), 5);
        // A task blocked on an end that another task closes is woken.
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                try {
                    (void)co_await receive2.receive();
                } catch (const anyio::closed_resource_error&) {
                    ++closed_errors;
                }
            });
            co_await settle();
            receive2.close();
        });
    });
    EXPECT_EQ(closed_errors, 3);
}

TEST(MemoryStream, TheOtherSideSeesAnEndClosedOnlyWhenEveryCloneIs) {
    run_guarded([&]() -> anyio::task<> {
        auto send_receive = anyio::create_memory_object_stream<int>(4);
        auto& send = send_receive.first;
        auto& receive = send_receive.second;
        auto send2 = send.clone();
        auto send3 = send2.clone();
        EXPECT_EQ(send.statistics().open_send_streams, 3U);
        send.close();
        send2.close();
        EXPECT_THROW((void)receive.receive_nowait(), anyio::would_block);  // not ended
        send3.send_nowait(9);
        {
            auto doomed = send3.clone();  // the destructor closes it
        }
        EXPECT_EQ(receive.statistics().open_send_streams, 1U);
        send3.close();
        EXPECT_EQ(receive.receive_nowait(), 9);
        EXPECT_THROW((void)receive.receive_nowait(), anyio::end_of_stream);

        auto tx_rx = anyio::create_memory_object_stream<int>(4);

        auto& tx = tx_rx.first;

        auto& rx = tx_rx.second;
        auto rx2 = rx.clone();
        rx.close();
        tx.send_nowait(1);  // rx2 still open
        EXPECT_EQ(rx2.receive_nowait(), 1);
        rx2.close();
        EXPECT_THROW(tx.send_nowait(2), anyio::broken_resource_error);
        co_return;
    });
}

// AnyIO's MemoryObjectStreamStatistics, every field at once, the same from either end.
TEST(MemoryStream, StatisticsReportEveryField) {
    run_guarded([&]() -> anyio::task<> {
        auto send_receive = anyio::create_memory_object_stream<int>(1);
        auto& send = send_receive.first;
        auto& receive = send_receive.second;
        auto receive2 = receive.clone();
        send.send_nowait(1);
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (int i = 0; i < 2; ++i)
                tg.start_soon([&]() -> anyio::task<> { co_await send.send(2); });
            co_await settle();
            const anyio::memory_object_stream_statistics stats = receive2.statistics();
            EXPECT_EQ(stats.current_buffer_used, 1U);
            EXPECT_EQ(stats.max_buffer_size, 1U);
            EXPECT_EQ(stats.open_send_streams, 1U);
            EXPECT_EQ(stats.open_receive_streams, 2U);
            EXPECT_EQ(stats.tasks_waiting_send, 2U);
            EXPECT_EQ(stats.tasks_waiting_receive, 0U);
            EXPECT_EQ(send.statistics().tasks_waiting_send, 2U);
            tg.cancel_scope().cancel();
        });
        EXPECT_EQ(send.statistics().tasks_waiting_send, 0U);
        EXPECT_EQ(receive.receive_nowait(), 1);
        receive2.close();
        EXPECT_EQ(send.statistics().open_receive_streams, 1U);
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                const int item = co_await receive.receive();
                EXPECT_EQ(item, 3);
            });
            co_await settle();
            EXPECT_EQ(send.statistics().tasks_waiting_receive, 1U);
            send.send_nowait(3);
            EXPECT_EQ(send.statistics().tasks_waiting_receive, 0U);
        });
        // A closed end still sees the stream (as in AnyIO).
        EXPECT_EQ(receive2.statistics().open_receive_streams, 1U);
        EXPECT_EQ(receive2.statistics().max_buffer_size, 1U);
    });
}

// ---------------------------------------------------------------------------------------
// Cancellation

TEST(MemoryStream, ACancelledBlockedSendDeliversNothing) {
    run_guarded([&]() -> anyio::task<> {
        auto send_receive = anyio::create_memory_object_stream<int>(0);
        auto& send = send_receive.first;
        auto& receive = send_receive.second;
        anyio::cancel_scope scope;
        bool finished = true;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                finished = co_await scope.run([&]() -> anyio::task<> { co_await send.send(1); });
            });
            co_await settle();
            EXPECT_EQ(send.statistics().tasks_waiting_send, 1U);
            scope.cancel();
        });
        EXPECT_FALSE(finished);
        EXPECT_EQ(send.statistics().tasks_waiting_send, 0U);
        EXPECT_THROW((void)receive.receive_nowait(), anyio::would_block);
    });
}

TEST(MemoryStream, ACancelledWaitingReceiveConsumesNothing) {
    int got = -1;
    run_guarded([&]() -> anyio::task<> {
        auto send_receive = anyio::create_memory_object_stream<int>(1);
        auto& send = send_receive.first;
        auto& receive = send_receive.second;
        anyio::cancel_scope scope;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                (void)co_await scope.run(
                    [&]() -> anyio::task<> { got = co_await receive.receive(); });
            });
            co_await settle();
            scope.cancel();
        });
        EXPECT_EQ(receive.statistics().tasks_waiting_receive, 0U);
        send.send_nowait(3);  // goes to the buffer, not to the cancelled receiver
        EXPECT_EQ(receive.receive_nowait(), 3);
    });
    EXPECT_EQ(got, -1);
}

TEST(MemoryStream, AnItemHandedOverBeforeTheCancelIsStillReturned) {
    std::optional<int> got;
    bool cancelled_later = false;
    run_guarded([&]() -> anyio::task<> {
        auto send_receive = anyio::create_memory_object_stream<int>(0);
        auto& send = send_receive.first;
        auto& receive = send_receive.second;
        anyio::cancel_scope scope;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                (void)co_await scope.run([&]() -> anyio::task<> {
                    got = co_await receive.receive();
                    try {
                        co_await anyio::checkpoint();
                    } catch (const anyio::cancelled&) {
                        cancelled_later = true;
                        throw;
                    }
                });
            });
            co_await settle();
            send.send_nowait(42);  // handed to the waiting receiver...
            scope.cancel();        // ...which is cancelled before it runs again
        });
    });
    EXPECT_EQ(got, 42);
    EXPECT_TRUE(cancelled_later);
}

TEST(MemoryStream, RandomCancellationNeverLosesOrDuplicatesAnItem) {
    for (const std::size_t buffer : {std::size_t(0), std::size_t(1), std::size_t(3)}) {
        std::vector<int> sent;
        std::vector<int> received;
        int cancelled_sends = 0;
        int cancelled_receives = 0;
        run_guarded([&]() -> anyio::task<> {
            auto send_receive = anyio::create_memory_object_stream<int>(buffer);
            auto& send = send_receive.first;
            auto& receive = send_receive.second;
            anyio::cancel_scope* send_scope = nullptr;
            anyio::cancel_scope* receive_scope = nullptr;
            bool producing = true;
            bool consuming = true;
            std::mt19937 rng(1234 + static_cast<unsigned>(buffer));
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon([&]() -> anyio::task<> {  // producer
                    for (int i = 0; i < 3000; ++i) {
                        anyio::cancel_scope scope;
                        send_scope = &scope;
                        const bool done =
                            co_await scope.run([&]() -> anyio::task<> { co_await send.send(i); });
                        send_scope = nullptr;
                        if (done) {
                            sent.push_back(i);
                        } else {
                            ++cancelled_sends;
                        }
                        const unsigned pause = rng() % 3;
                        for (unsigned k = 0; k < pause; ++k)
                            co_await anyio::checkpoint();
                    }
                    producing = false;
                    send.close();
                });
                tg.start_soon([&]() -> anyio::task<> {  // consumer
                    try {
                        for (;;) {
                            anyio::cancel_scope scope;
                            receive_scope = &scope;
                            std::optional<int> item = co_await scope.run([&]() -> anyio::task<int> {
                                co_return co_await receive.receive();
                            });
                            receive_scope = nullptr;
                            if (item) {
                                received.push_back(*item);
                            } else {
                                ++cancelled_receives;
                            }
                            const unsigned pause = rng() % 3;
                            for (unsigned k = 0; k < pause; ++k)
                                co_await anyio::checkpoint();
                        }
                    } catch (const anyio::end_of_stream&) {
                    }
                    receive_scope = nullptr;
                    consuming = false;
                });
                tg.start_soon([&]() -> anyio::task<> {  // chaos
                    while (producing || consuming) {
                        co_await anyio::checkpoint();
                        const unsigned roll = rng() % 4;
                        if (roll == 0 && send_scope != nullptr) send_scope->cancel();
                        if (roll == 1 && receive_scope != nullptr) receive_scope->cancel();
                    }
                });
                co_return;
            });
        });
        EXPECT_GT(sent.size(), 100U) << "buffer " << buffer;
        EXPECT_GT(cancelled_sends, 0) << "buffer " << buffer;
        EXPECT_GT(cancelled_receives, 0) << "buffer " << buffer;
        EXPECT_EQ(received, sent) << "buffer " << buffer;  // exactly once, in order
    }
}

TEST(MemoryStream, UnlessCancelledReportsACancelledReceiveAsEmpty) {
    std::optional<std::optional<int>> result;
    run_guarded([&]() -> anyio::task<> {
        auto send_receive = anyio::create_memory_object_stream<int>(0);
        auto& send = send_receive.first;
        auto& receive = send_receive.second;
        anyio::cancel_scope scope;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                (void)co_await scope.run([&]() -> anyio::task<> {
                    std::optional<int> r = co_await anyio::unless_cancelled(receive.receive());
                    result = r;
                });
            });
            co_await settle();
            scope.cancel();
        });
        send.close();
    });
    ASSERT_TRUE(result.has_value());
    EXPECT_FALSE(result->has_value());
}

// ---------------------------------------------------------------------------------------
// Items and the nowait variants

TEST(MemoryStream, MoveOnlyItemsWork) {
    std::vector<int> got;
    run_guarded([&]() -> anyio::task<> {
        auto send_receive = anyio::create_memory_object_stream<std::unique_ptr<int>>(1);
        auto& send = send_receive.first;
        auto& receive = send_receive.second;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                for (int i = 0; i < 4; ++i)
                    co_await send.send(std::make_unique<int>(i));
                co_await send.send(nullptr);  // the end marker
            });
            for (;;) {
                std::unique_ptr<int> p = co_await receive.receive();
                if (!p) break;
                got.push_back(*p);
            }
        });
    });
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3}));
}

TEST(MemoryStream, NowaitVariantsThrowWouldBlock) {
    run_guarded([&]() -> anyio::task<> {
        auto send_receive = anyio::create_memory_object_stream<int>(2);
        auto& send = send_receive.first;
        auto& receive = send_receive.second;
        EXPECT_THROW((void)receive.receive_nowait(), anyio::would_block);
        send.send_nowait(1);
        send.send_nowait(2);
        EXPECT_THROW(send.send_nowait(3), anyio::would_block);
        EXPECT_EQ(receive.statistics().current_buffer_used, 2U);  // 3 was not delivered
        EXPECT_EQ(receive.receive_nowait(), 1);
        EXPECT_EQ(receive.receive_nowait(), 2);
        EXPECT_THROW((void)receive.receive_nowait(), anyio::would_block);

        // A blocked sender's item is taken by receive_nowait.
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                for (int i = 10; i < 13; ++i)
                    co_await send.send(i);
            });
            co_await settle();
            EXPECT_EQ(receive.receive_nowait(), 10);
            EXPECT_EQ(receive.receive_nowait(), 11);
            EXPECT_EQ(receive.receive_nowait(), 12);
        });

        auto tx_rx = anyio::create_memory_object_stream<int>(anyio::unbounded_buffer);

        auto& tx = tx_rx.first;

        auto& rx = tx_rx.second;
        for (int i = 0; i < 10000; ++i)
            tx.send_nowait(i);
        EXPECT_EQ(rx.statistics().current_buffer_used, 10000U);
        EXPECT_EQ(rx.receive_nowait(), 0);
    });
}

TEST(MemoryStream, SendAndReceiveAreCheckpoints) {
    bool reached = false;
    run_guarded([&]() -> anyio::task<> {
        auto send_receive = anyio::create_memory_object_stream<int>(4);
        auto& send = send_receive.first;
        auto& receive = send_receive.second;
        anyio::cancel_scope scope;
        (void)co_await scope.run([&]() -> anyio::task<> {
            scope.cancel();
            try {
                co_await send.send(1);  // room in the buffer, but cancelled first
            } catch (const anyio::cancelled&) {
                reached = true;
                throw;
            }
        });
        EXPECT_EQ(receive.statistics().current_buffer_used, 0U);
    });
    EXPECT_TRUE(reached);
}

}  // namespace
