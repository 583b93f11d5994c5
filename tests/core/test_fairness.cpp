// Fair scheduling: a task whose descriptor became ready gets its turn behind the tasks
// already ready, however busy the others keep the loop. Counts of scheduling rounds, never
// timings: the order is fully decided by the loop, so the bounds are exact properties.
#include <anyio/anyio.hpp>

#include "support/run_helpers.hpp"
#include "support/stream_helpers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <stdexcept>
#include <utility>
#include <vector>

#include <sys/socket.h>

namespace {

using anyio_test::run_guarded;
using anyio_test::socket_pair;

// Bounces one byte `rounds` times between the two ends: every hop waits in epoll, since
// each end receives before its peer sends.
anyio::task<> ping(anyio::byte_stream& end, int rounds, int* done) {
    char byte = 0;
    for (int i = 0; i < rounds; ++i) {
        co_await end.send("x");
        co_await end.receive_into({&byte, 1});
        ++*done;
    }
}
anyio::task<> pong(anyio::byte_stream& end, int rounds) {
    char byte = 0;
    for (int i = 0; i < rounds; ++i) {
        co_await end.receive_into({&byte, 1});
        co_await end.send("y");
    }
}

// A task that never waits: it yields until told to stop, counting its turns.
anyio::task<> spinner(const bool* stop, long* turns) {
    while (!*stop) {
        ++*turns;
        co_await anyio::checkpoint();
    }
}

TEST(Fairness, ATaskWaitingOnASocketGetsItsTurnWhileAnotherNeverStopsYielding) {
    // Each round trip is two hops through epoll plus a few yields. Served in arrival order,
    // the spinner turns a handful of times per round trip; when epoll is asked only now and
    // then while tasks are ready (every 61 batches, before this was fixed) it turned over a
    // hundred times per round trip.
    constexpr int rounds = 500;
    long turns = 0;
    int done = 0;
    run_guarded([&]() -> anyio::task<> {
        // Not a structured binding: clang 14 cannot capture one in a lambda.
        auto ends = socket_pair();
        bool stop = false;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon(spinner, &stop, &turns);
            co_await anyio::with_task_group([&](anyio::task_group& pair) -> anyio::task<> {
                pair.start_soon(pong, std::ref(ends.second), rounds);
                pair.start_soon(ping, std::ref(ends.first), rounds, &done);
                co_return;
            });
            stop = true;
        });
    });
    EXPECT_EQ(done, rounds);
    EXPECT_LE(turns, 10L * rounds) << "the spinner ran " << turns << " times for " << rounds
                                   << " round trips: the waiting pair was starved";
}

// Connections whose data is always there already (a client that pipelines) and
// connections that wait in epoll for every message must progress together.
constexpr int busy_connections = 4;
constexpr int waiting_pairs = 4;
constexpr int messages = 400;

TEST(Fairness, ConnectionsThatWaitKeepPaceWithConnectionsWhoseDataIsAlwaysThere) {
    std::array<int, waiting_pairs> waiting_done{};
    std::vector<int> waiting_done_when_busy_finished;
    run_guarded([&]() -> anyio::task<> {
        std::vector<std::pair<anyio::byte_stream, anyio::byte_stream>> busy;
        std::vector<std::pair<anyio::byte_stream, anyio::byte_stream>> waiting;
        for (int i = 0; i < busy_connections; ++i) {
            busy.push_back(socket_pair());
            co_await busy.back().second.send(std::string(messages, 'p'));  // all queued up front
        }
        for (int i = 0; i < waiting_pairs; ++i)
            waiting.push_back(socket_pair());
        int busy_left = busy_connections;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (auto& connection : busy) {
                tg.start_soon([&busy_left, &waiting_done, &waiting_done_when_busy_finished,
                               &connection]() -> anyio::task<> {
                    char byte = 0;
                    for (int i = 0; i < messages; ++i)
                        co_await connection.first.receive_into({&byte, 1});
                    if (--busy_left == 0) {
                        waiting_done_when_busy_finished.assign(waiting_done.begin(),
                                                               waiting_done.end());
                    }
                });
            }
            for (std::size_t i = 0; i < waiting.size(); ++i) {
                tg.start_soon(pong, std::ref(waiting[i].second), messages);
                tg.start_soon(ping, std::ref(waiting[i].first), messages, &waiting_done[i]);
            }
            co_return;
        });
    });
    ASSERT_EQ(waiting_done_when_busy_finished.size(), static_cast<std::size_t>(waiting_pairs));
    for (int i = 0; i < waiting_pairs; ++i) {
        EXPECT_EQ(waiting_done[static_cast<std::size_t>(i)], messages);
        // A round trip takes about four times the scheduling rounds of one ready receive.
        EXPECT_GE(waiting_done_when_busy_finished[static_cast<std::size_t>(i)], messages / 10)
            << "pair " << i << " was starved while the busy connections ran";
    }
}

}  // namespace
