// What a connection waiting for data holds: receive() takes no buffer while it waits, so
// an idle connection costs its stream, its task and the frames of the calls it waits in.
// This binary tracks the heap bytes alive through operator new, so the figures are exact
// counts, not measurements of a noisy process.

#include <anyio/anyio.hpp>

#include "support/run_helpers.hpp"
#include "support/stream_helpers.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <malloc.h>
#include <sys/socket.h>

namespace {
long live_bytes = 0;  // this test's loop is single-threaded
}  // namespace

void* operator new(std::size_t size) {
    if (void* p = std::malloc(size == 0 ? 1 : size)) {
        live_bytes += static_cast<long>(::malloc_usable_size(p));
        return p;
    }
    throw std::bad_alloc();
}
namespace {
void release(void* p) noexcept {
    if (p != nullptr) live_bytes -= static_cast<long>(::malloc_usable_size(p));
    std::free(p);
}
}  // namespace
void operator delete(void* p) noexcept {
    release(p);
}
void operator delete(void* p, std::size_t) noexcept {
    release(p);
}

namespace {

using anyio_test::run_guarded;
using anyio_test::socket_pair;

// The natural handler: receive what came, answer it, until the peer is done.
anyio::task<> echo(anyio::byte_stream& stream) {
    try {
        for (;;) {
            const std::string bytes = co_await stream.receive();
            co_await stream.send(bytes);
        }
    } catch (const anyio::end_of_stream&) {
    }
}

// The per-connection heap of a connection parked in receive(); upper bound the docs quote
// (docs/benchmarks.md, "memory per idle connection").
constexpr long idle_connection_budget = 1024;

TEST(ReceiveMemory, AConnectionWaitingInReceiveHoldsNoReceiveBuffer) {
    constexpr int connections = 200;
    long held_per_connection = -1;
    std::string echoed;
    run_guarded([&]() -> anyio::task<> {
        std::vector<std::pair<anyio::byte_stream, anyio::byte_stream>> pairs;
        pairs.reserve(connections);
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            // Let the loop set up whatever it creates on first use (the scratch buffer
            // of the thread, epoll bookkeeping) before counting.
            pairs.push_back(socket_pair());
            tg.start_soon(echo, std::ref(pairs.back().first));
            co_await pairs.back().second.send("warm");
            (void)co_await pairs.back().second.receive();
            const long before = live_bytes;
            for (int i = 1; i < connections; ++i) {
                pairs.push_back(socket_pair());
                tg.start_soon(echo, std::ref(pairs.back().first));
            }
            co_await anyio_test::settle();
            held_per_connection = (live_bytes - before) / (connections - 1);
            // Every one of them still answers.
            for (auto& pair : pairs) {
                co_await pair.second.send("x");
                echoed += co_await pair.second.receive();
                co_await pair.second.send_eof();
            }
        });
    });
    EXPECT_EQ(echoed, std::string(connections, 'x'));
    // Before receive() waited without a buffer, each waiting connection held 64 KiB.
    EXPECT_GT(held_per_connection, 0);
    EXPECT_LE(held_per_connection, idle_connection_budget)
        << "a connection waiting in receive() holds " << held_per_connection << " bytes";
    RecordProperty("heap_bytes_per_idle_connection", static_cast<int>(held_per_connection));
}

}  // namespace
