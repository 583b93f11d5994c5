// signal_receiver::receive_info(): the count and the sender of each item, real-time
// signals queued one item per occurrence with their sigqueue values, and the bounded,
// counted overflow of a receiver's queue. Real signals only: kill, raise, sigqueue, from
// this process, its threads and forked child processes.
//
// Every scenario runs in a forked child (anyio_test::run_in_child): it changes process-wide
// dispositions and sends real signals, which must not reach the test runner. Timeouts are
// hang guards only, never speed assertions; the short move_on_after windows below only
// check that nothing more is pending.

#include <anyio/anyio.hpp>

#include "signal/realtime_queue.hpp"  // the loop's queue capacity
#include "support/child_process.hpp"
#include "support/signal_helpers.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <optional>
#include <set>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using anyio_test::expect_same_action;
using anyio_test::install_siginfo;
using anyio_test::is_default;
using anyio_test::queue_to_self;
using anyio_test::read_action;
using anyio_test::receive_info_if_pending;
using anyio_test::receive_info_within;
using anyio_test::receive_within;
using anyio_test::set_handler;

std::string describe(const anyio::signal_info& item) {
    return "signo " + std::to_string(item.signo) + " count " + std::to_string(item.count) +
           " pid " + std::to_string(item.pid) + " uid " + std::to_string(item.uid) + " code " +
           std::to_string(item.code) + " value " + std::to_string(item.value.sival_int) +
           " overflowed " + std::to_string(item.overflowed);
}

sigval int_value(int v) {
    sigval value{};  // zero-initialized: the pointer-sized bytes beyond sival_int are 0
    value.sival_int = v;
    return value;
}

// A previous disposition with a handler function, flags and a mask of its own. Lock-free
// atomics only.
std::atomic<int> usr1_hits{0};
static_assert(std::atomic<int>::is_always_lock_free);

void count_usr1(int /*signo*/, siginfo_t* /*info*/, void* /*context*/) {
    usr1_hits.fetch_add(1);
}

void install_usr1_counter() {
    install_siginfo(SIGUSR1, &count_usr1, SA_RESTART, {SIGUSR2});
}

}  // namespace

// A signal from another process names that process: a forked child kills its parent
// (once the receiver is open), and the item carries the child's pid, its real uid and
// SI_USER. When the test runs as root, a second child first takes another real uid
// (keeping root as its effective uid, so it may still signal us): the item must carry
// that uid, which tells the sender's uid apart from our own.
TEST(SignalInfo, KillFromAChildProcessNamesTheChild) {
    const auto status = anyio_test::run_in_child([] {
        std::vector<uid_t> real_uids = {::getuid()};
        if (::geteuid() == 0) real_uids.push_back(4242);
        for (const uid_t real_uid : real_uids) {
            SCOPED_TRACE("sender's real uid " + std::to_string(real_uid));
            anyio::signal_info item;
            std::optional<anyio::signal_info> extra;
            pid_t child = -1;
            int child_status = -1;
            anyio::run([&]() -> anyio::task<> {
                auto signals = anyio::open_signal_receiver(SIGUSR1);
                child = ::fork();
                if (child == 0) {
                    if (real_uid != ::getuid() && ::setresuid(real_uid, 0, 0) != 0) ::_exit(2);
                    ::_exit(::kill(::getppid(), SIGUSR1) == 0 ? 0 : 1);
                }
                EXPECT_GT(child, 0);
                item = co_await receive_info_within(signals);
                EXPECT_EQ(::waitpid(child, &child_status, 0), child);
                extra = co_await receive_info_if_pending(signals);
            });
            EXPECT_TRUE(WIFEXITED(child_status) && WEXITSTATUS(child_status) == 0)
                << "child status " << child_status;
            EXPECT_EQ(item.signo, SIGUSR1);
            EXPECT_EQ(item.pid, child);
            EXPECT_NE(item.pid, ::getpid());
            EXPECT_EQ(item.uid, real_uid);
            EXPECT_EQ(item.code, SI_USER);
            EXPECT_GE(item.count, 1U);
            EXPECT_EQ(item.overflowed, 0U);
            EXPECT_FALSE(extra.has_value()) << describe(*extra);
            EXPECT_TRUE(is_default(SIGUSR1));
        }
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// The kernel as the sender: a child's exit is SIGCHLD with CLD_EXITED and the child's
// pid.
TEST(SignalInfo, ChildExitIsReportedWithTheKernelsCode) {
    const auto status = anyio_test::run_in_child([] {
        anyio::signal_info item;
        pid_t child = -1;
        int child_status = -1;
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGCHLD);
            child = ::fork();
            if (child == 0) ::_exit(7);
            EXPECT_GT(child, 0);
            item = co_await receive_info_within(signals);
            EXPECT_EQ(::waitpid(child, &child_status, 0), child);
        });
        EXPECT_TRUE(WIFEXITED(child_status) && WEXITSTATUS(child_status) == 7);
        EXPECT_EQ(item.signo, SIGCHLD);
        EXPECT_EQ(item.code, CLD_EXITED) << describe(item);
        EXPECT_EQ(item.pid, child) << describe(item);
        EXPECT_EQ(item.uid, ::getuid());
        EXPECT_EQ(item.count, 1U);
        EXPECT_TRUE(is_default(SIGCHLD));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// sigqueue's value comes back: an int, and a full pointer-sized value (both halves set,
// so a truncation to 32 bits would show), with SI_QUEUE and this process as the sender.
TEST(SignalInfo, SigqueueValueRoundTrips) {
    const auto status = anyio_test::run_in_child([] {
        const auto wide = static_cast<std::uintptr_t>(0x12345678'9abcdef0ULL);
        static_assert(sizeof(std::uintptr_t) == 8, "the wide value needs 64-bit pointers");
        std::vector<anyio::signal_info> got;
        std::optional<anyio::signal_info> extra;
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR1, SIGRTMIN);
            EXPECT_EQ(queue_to_self(SIGUSR1, int_value(1234)), 0);
            got.push_back(co_await receive_info_within(signals));

            sigval pointer{};
            pointer.sival_ptr = reinterpret_cast<void*>(wide);
            EXPECT_EQ(queue_to_self(SIGUSR1, pointer), 0);
            got.push_back(co_await receive_info_within(signals));

            // The same through the real-time path (queued per occurrence).
            EXPECT_EQ(queue_to_self(SIGRTMIN, int_value(-77)), 0);
            EXPECT_EQ(queue_to_self(SIGRTMIN, pointer), 0);
            got.push_back(co_await receive_info_within(signals));
            got.push_back(co_await receive_info_within(signals));
            extra = co_await receive_info_if_pending(signals);
        });
        ASSERT_EQ(got.size(), 4U);
        for (const anyio::signal_info& item : got) {
            SCOPED_TRACE(describe(item));
            EXPECT_EQ(item.code, SI_QUEUE);
            EXPECT_EQ(item.pid, ::getpid());
            EXPECT_EQ(item.uid, ::getuid());
            EXPECT_EQ(item.count, 1U);
            EXPECT_EQ(item.overflowed, 0U);
        }
        EXPECT_EQ(got[0].signo, SIGUSR1);
        EXPECT_EQ(got[0].value.sival_int, 1234);
        EXPECT_EQ(got[1].signo, SIGUSR1);
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(got[1].value.sival_ptr), wide);
        EXPECT_EQ(got[2].signo, SIGRTMIN);
        EXPECT_EQ(got[2].value.sival_int, -77);
        EXPECT_EQ(got[3].signo, SIGRTMIN);
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(got[3].value.sival_ptr), wide);
        EXPECT_FALSE(extra.has_value()) << describe(*extra);
        EXPECT_TRUE(is_default(SIGUSR1));
        EXPECT_TRUE(is_default(SIGRTMIN));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// raise() is tgkill() to the calling thread: SI_TKILL, from this process, value zero; the
// same for kill() from another thread is SI_USER.
TEST(SignalInfo, RaiseIsReportedAsTkill) {
    const auto status = anyio_test::run_in_child([] {
        anyio::signal_info raised;
        anyio::signal_info killed;
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR1, SIGUSR2);
            // A value left over from an earlier sigqueue must not stick to the next item.
            EXPECT_EQ(queue_to_self(SIGUSR1, int_value(99)), 0);
            EXPECT_EQ((co_await receive_info_within(signals)).value.sival_int, 99);
            ::raise(SIGUSR1);
            raised = co_await receive_info_within(signals);
            std::thread sender([] { ::kill(::getpid(), SIGUSR2); });
            sender.join();
            killed = co_await receive_info_within(signals);
        });
        EXPECT_EQ(raised.signo, SIGUSR1);
        EXPECT_EQ(raised.code, SI_TKILL) << describe(raised);
        EXPECT_EQ(raised.pid, ::getpid());
        EXPECT_EQ(raised.uid, ::getuid());
        EXPECT_EQ(raised.value.sival_int, 0) << describe(raised);
        EXPECT_EQ(raised.count, 1U);
        EXPECT_EQ(killed.signo, SIGUSR2);
        EXPECT_EQ(killed.code, SI_USER) << describe(killed);
        EXPECT_EQ(killed.pid, ::getpid());
        EXPECT_EQ(killed.uid, ::getuid());
        EXPECT_EQ(killed.count, 1U);
        EXPECT_TRUE(is_default(SIGUSR1));
        EXPECT_TRUE(is_default(SIGUSR2));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// A standard signal raised three times before the loop gets to it is one item with
// count 3 (raise delivers before it returns, so the kernel merges nothing); the count
// starts again from zero for the next burst.
TEST(SignalInfo, CountTellsHowManyOccurrencesWereMerged) {
    const auto status = anyio_test::run_in_child([] {
        anyio::signal_info burst;
        anyio::signal_info single;
        anyio::signal_info late_merge;
        std::optional<anyio::signal_info> extra_after_burst;
        std::optional<anyio::signal_info> extra_at_end;
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR1);
            for (int i = 0; i < 3; ++i)
                ::raise(SIGUSR1);
            burst = co_await receive_info_within(signals);
            extra_after_burst = co_await receive_info_if_pending(signals);
            ::raise(SIGUSR1);
            single = co_await receive_info_within(signals);
            // Merged in the receiver (dispatched between the raises) also adds up.
            for (int i = 0; i < 4; ++i) {
                ::raise(SIGUSR1);
                co_await anyio::checkpoint();
                co_await anyio::checkpoint();
            }
            late_merge = co_await receive_info_within(signals);
            extra_at_end = co_await receive_info_if_pending(signals);
        });
        EXPECT_EQ(burst.signo, SIGUSR1);
        EXPECT_EQ(burst.count, 3U) << describe(burst);
        EXPECT_FALSE(extra_after_burst.has_value()) << describe(*extra_after_burst);
        EXPECT_EQ(single.signo, SIGUSR1);
        EXPECT_EQ(single.count, 1U) << describe(single);
        EXPECT_EQ(late_merge.signo, SIGUSR1);
        EXPECT_EQ(late_merge.count, 4U) << describe(late_merge);
        EXPECT_FALSE(extra_at_end.has_value()) << describe(*extra_at_end);
        EXPECT_TRUE(is_default(SIGUSR1));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// Real-time signals are not merged: five sigqueues are five items, in order, each with
// its own value, count 1 and nothing overflowed.
TEST(SignalInfo, RealTimeSignalsAreQueuedOneItemPerOccurrence) {
    const auto status = anyio_test::run_in_child([] {
        std::vector<anyio::signal_info> got;
        std::optional<anyio::signal_info> extra;
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGRTMIN);
            for (int v = 0; v < 5; ++v)
                EXPECT_EQ(queue_to_self(SIGRTMIN, int_value(v)), 0);
            for (int i = 0; i < 5; ++i)
                got.push_back(co_await receive_info_within(signals));
            extra = co_await receive_info_if_pending(signals);
        });
        ASSERT_EQ(got.size(), 5U);
        for (int i = 0; i < 5; ++i) {
            const anyio::signal_info& item = got[static_cast<std::size_t>(i)];
            SCOPED_TRACE(describe(item));
            EXPECT_EQ(item.signo, SIGRTMIN);
            EXPECT_EQ(item.value.sival_int, i);
            EXPECT_EQ(item.count, 1U);
            EXPECT_EQ(item.overflowed, 0U);
            EXPECT_EQ(item.code, SI_QUEUE);
            EXPECT_EQ(item.pid, ::getpid());
        }
        EXPECT_FALSE(extra.has_value()) << describe(*extra);
        EXPECT_TRUE(is_default(SIGRTMIN));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// Queued real-time occurrences and merged standard signals come out in first-arrival
// order; a repeat of a pending standard signal merges into its first place.
TEST(SignalInfo, RealTimeAndStandardSignalsKeepFirstArrivalOrder) {
    const auto status = anyio_test::run_in_child([] {
        std::vector<anyio::signal_info> got;
        std::vector<anyio::signal_info> got_later;
        std::vector<anyio::signal_info> got_last;
        std::optional<anyio::signal_info> extra;
        const int rt = SIGRTMIN;
        const int rt2 = SIGRTMIN + 1;
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR1, SIGUSR2, rt, rt2);
            ::raise(SIGUSR1);
            EXPECT_EQ(queue_to_self(rt, int_value(100)), 0);
            ::raise(SIGUSR2);
            EXPECT_EQ(queue_to_self(rt, int_value(101)), 0);
            ::raise(SIGUSR1);  // merges into the first item
            for (int i = 0; i < 4; ++i)
                got.push_back(co_await receive_info_within(signals));

            // Real-time first, and two real-time signals interleaved.
            EXPECT_EQ(queue_to_self(rt2, int_value(200)), 0);
            EXPECT_EQ(queue_to_self(rt, int_value(201)), 0);
            ::raise(SIGUSR2);
            EXPECT_EQ(queue_to_self(rt2, int_value(202)), 0);
            for (int i = 0; i < 4; ++i)
                got_later.push_back(co_await receive_info_within(signals));

            // Standard signals by arrival, not by number.
            ::raise(SIGUSR2);
            EXPECT_EQ(queue_to_self(rt, int_value(300)), 0);
            ::raise(SIGUSR1);
            for (int i = 0; i < 3; ++i)
                got_last.push_back(co_await receive_info_within(signals));
            extra = co_await receive_info_if_pending(signals);
        });
        ASSERT_EQ(got.size(), 4U);
        EXPECT_EQ(got[0].signo, SIGUSR1) << describe(got[0]);
        EXPECT_EQ(got[0].count, 2U) << describe(got[0]);
        EXPECT_EQ(got[1].signo, rt) << describe(got[1]);
        EXPECT_EQ(got[1].value.sival_int, 100) << describe(got[1]);
        EXPECT_EQ(got[2].signo, SIGUSR2) << describe(got[2]);
        EXPECT_EQ(got[2].count, 1U) << describe(got[2]);
        EXPECT_EQ(got[3].signo, rt) << describe(got[3]);
        EXPECT_EQ(got[3].value.sival_int, 101) << describe(got[3]);
        ASSERT_EQ(got_later.size(), 4U);
        EXPECT_EQ(got_later[0].signo, rt2) << describe(got_later[0]);
        EXPECT_EQ(got_later[0].value.sival_int, 200) << describe(got_later[0]);
        EXPECT_EQ(got_later[1].signo, rt) << describe(got_later[1]);
        EXPECT_EQ(got_later[1].value.sival_int, 201) << describe(got_later[1]);
        EXPECT_EQ(got_later[2].signo, SIGUSR2) << describe(got_later[2]);
        EXPECT_EQ(got_later[3].signo, rt2) << describe(got_later[3]);
        EXPECT_EQ(got_later[3].value.sival_int, 202) << describe(got_later[3]);
        ASSERT_EQ(got_last.size(), 3U);
        EXPECT_EQ(got_last[0].signo, SIGUSR2) << describe(got_last[0]);
        EXPECT_EQ(got_last[1].signo, rt) << describe(got_last[1]);
        EXPECT_EQ(got_last[1].value.sival_int, 300) << describe(got_last[1]);
        EXPECT_EQ(got_last[2].signo, SIGUSR1) << describe(got_last[2]);
        EXPECT_FALSE(extra.has_value()) << describe(*extra);
        for (const int signo : {SIGUSR1, SIGUSR2, rt, rt2})
            EXPECT_TRUE(is_default(signo)) << "signal " << signo;
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// A receiver queues at most queue_capacity real-time occurrences; the rest are dropped
// and counted in `overflowed`, never silently. The oldest are kept. After the queue has
// room again, new occurrences are queued with nothing overflowed.
TEST(SignalInfo, RealTimeOverflowIsBoundedAndCounted) {
    const auto status = anyio_test::run_in_child([] {
        std::vector<anyio::signal_info> got;
        std::optional<anyio::signal_info> extra;
        std::vector<anyio::signal_info> after;
        std::optional<anyio::signal_info> extra_after;
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver({SIGRTMIN}, {.queue_capacity = 4});
            for (int v = 0; v < 10; ++v)
                EXPECT_EQ(queue_to_self(SIGRTMIN, int_value(v)), 0);
            for (int i = 0; i < 4; ++i)
                got.push_back(co_await receive_info_within(signals));
            extra = co_await receive_info_if_pending(signals);

            for (int v = 10; v < 12; ++v)
                EXPECT_EQ(queue_to_self(SIGRTMIN, int_value(v)), 0);
            for (int i = 0; i < 2; ++i)
                after.push_back(co_await receive_info_within(signals));
            extra_after = co_await receive_info_if_pending(signals);
        });
        ASSERT_EQ(got.size(), 4U);
        std::uint64_t overflowed = 0;
        for (int i = 0; i < 4; ++i) {
            const anyio::signal_info& item = got[static_cast<std::size_t>(i)];
            SCOPED_TRACE(describe(item));
            EXPECT_EQ(item.signo, SIGRTMIN);
            EXPECT_EQ(item.value.sival_int, i);
            EXPECT_EQ(item.count, 1U);
            overflowed += item.overflowed;
        }
        EXPECT_EQ(overflowed, 6U);
        EXPECT_FALSE(extra.has_value()) << describe(*extra);
        ASSERT_EQ(after.size(), 2U);
        for (int i = 0; i < 2; ++i) {
            const anyio::signal_info& item = after[static_cast<std::size_t>(i)];
            SCOPED_TRACE(describe(item));
            EXPECT_EQ(item.value.sival_int, 10 + i);
            EXPECT_EQ(item.overflowed, 0U);
        }
        EXPECT_FALSE(extra_after.has_value()) << describe(*extra_after);
        EXPECT_TRUE(is_default(SIGRTMIN));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// The queue is shared by the receiver's real-time signals: when one signal fills it, an
// occurrence of another signal that has nothing queued is dropped, and still counted
// where the caller can see it. After everything queued was received, the drop must have
// been reported (not held back until that other signal happens to arrive again).
TEST(SignalInfo, DropOfASignalWithNothingQueuedIsNotSilent) {
    const auto status = anyio_test::run_in_child([] {
        const int rt = SIGRTMIN;
        const int rt2 = SIGRTMIN + 1;
        std::vector<anyio::signal_info> got;
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver({rt, rt2}, {.queue_capacity = 2});
            EXPECT_EQ(queue_to_self(rt, int_value(1)), 0);
            EXPECT_EQ(queue_to_self(rt, int_value(2)), 0);
            EXPECT_EQ(queue_to_self(rt2, int_value(3)), 0);  // the queue is full: dropped
            while (const auto item = co_await receive_info_if_pending(signals))
                got.push_back(*item);
        });
        std::uint64_t reported = 0;
        std::string items;
        for (const anyio::signal_info& item : got) {
            reported += item.overflowed;
            items += "\n  " + describe(item);
        }
        EXPECT_GE(got.size(), 2U) << items;
        EXPECT_EQ(reported, 1U) << "the dropped occurrence of SIGRTMIN+1 was never reported; items:"
                                << items;
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// The loop's own queue has room for a few hundred occurrences between two dispatches:
// a burst beyond it (sent from the loop thread, which cannot dispatch in between) is
// counted too, even when the receiver's queue has room for all of it.
TEST(SignalInfo, OverflowOfTheLoopsQueueIsCountedToo) {
    const auto status = anyio_test::run_in_child([] {
        constexpr int burst =
            4 * static_cast<int>(anyio::detail::signals::realtime_queue::capacity);
        long items = 0;
        std::uint64_t overflowed = 0;
        bool in_order = true;
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver({SIGRTMIN}, {.queue_capacity = 4096});
            for (int v = 0; v < burst; ++v)
                EXPECT_EQ(queue_to_self(SIGRTMIN, int_value(v)), 0);
            int last = -1;
            while (const auto item = co_await receive_info_if_pending(signals)) {
                in_order = in_order && item->value.sival_int > last;
                last = item->value.sival_int;
                ++items;
                overflowed += item->overflowed;
            }
        });
        EXPECT_TRUE(in_order);
        EXPECT_GE(items, 1);
        EXPECT_GT(overflowed, 0U) << "the burst is larger than the loop's queue";
        EXPECT_EQ(items + static_cast<long>(overflowed), burst)
            << items << " items, " << overflowed << " overflowed";
        EXPECT_TRUE(is_default(SIGRTMIN));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// The edges of the capacity range: 1 queues one occurrence, max_queue_capacity opens.
TEST(SignalInfo, QueueCapacityEdgesWork) {
    const auto status = anyio_test::run_in_child([] {
        anyio::signal_info one;
        std::optional<anyio::signal_info> extra;
        anyio::signal_info at_max;
        anyio::run([&]() -> anyio::task<> {
            {
                auto signals = anyio::open_signal_receiver({SIGRTMIN}, {.queue_capacity = 1});
                for (int v = 0; v < 3; ++v)
                    EXPECT_EQ(queue_to_self(SIGRTMIN, int_value(v)), 0);
                one = co_await receive_info_within(signals);
                extra = co_await receive_info_if_pending(signals);
            }
            {
                auto signals = anyio::open_signal_receiver(
                    {SIGRTMIN}, {.queue_capacity = anyio::receiver_options::max_queue_capacity});
                EXPECT_EQ(queue_to_self(SIGRTMIN, int_value(5)), 0);
                at_max = co_await receive_info_within(signals);
            }
        });
        EXPECT_EQ(one.value.sival_int, 0) << describe(one);
        EXPECT_EQ(one.overflowed, 2U) << describe(one);
        EXPECT_FALSE(extra.has_value()) << describe(*extra);
        EXPECT_EQ(at_max.signo, SIGRTMIN);
        EXPECT_EQ(at_max.value.sival_int, 5);
        EXPECT_TRUE(is_default(SIGRTMIN));
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// A queue capacity of 0 or above max_queue_capacity is refused with
// std::invalid_argument before anything is installed.
TEST(SignalInfo, BadQueueCapacityIsRefusedBeforeAnythingIsInstalled) {
    const auto status = anyio_test::run_in_child([] {
        install_usr1_counter();
        const struct sigaction usr1_before = read_action(SIGUSR1);
        const struct sigaction rt_before = read_action(SIGRTMIN);
        const std::size_t too_big = anyio::receiver_options::max_queue_capacity + 1;
        int refused = 0;
        anyio::run([&]() -> anyio::task<> {
            for (const std::size_t capacity : {std::size_t{0}, too_big}) {
                SCOPED_TRACE("queue_capacity " + std::to_string(capacity));
                for (const auto& list : {std::vector<int>{SIGRTMIN}, std::vector<int>{SIGUSR1},
                                         std::vector<int>{SIGUSR1, SIGRTMIN}}) {
                    try {
                        auto signals = anyio::open_signal_receiver(std::span<const int>(list),
                                                                   {.queue_capacity = capacity});
                        ADD_FAILURE() << "accepted";
                    } catch (const std::invalid_argument&) {
                        ++refused;
                    }
                    expect_same_action(SIGUSR1, usr1_before);
                    expect_same_action(SIGRTMIN, rt_before);
                }
            }
            co_return;
        });
        EXPECT_EQ(refused, 6);
        expect_same_action(SIGUSR1, usr1_before);
        EXPECT_TRUE(is_default(SIGRTMIN));
        // The previous handler still gets the signal.
        ::raise(SIGUSR1);
        EXPECT_EQ(usr1_hits.load(), 1);
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// receive() gives the plain signal number for both kinds, consuming one item each.
TEST(SignalInfo, ReceiveStillReturnsThePlainNumber) {
    const auto status = anyio_test::run_in_child([] {
        std::vector<int> got;
        std::optional<anyio::signal_info> extra;
        anyio::run([&]() -> anyio::task<> {
            auto signals = anyio::open_signal_receiver(SIGUSR1, SIGRTMIN);
            EXPECT_EQ(queue_to_self(SIGRTMIN, int_value(7)), 0);
            ::raise(SIGUSR1);
            ::raise(SIGUSR1);
            EXPECT_EQ(queue_to_self(SIGRTMIN, int_value(8)), 0);
            for (int i = 0; i < 3; ++i)
                got.push_back(co_await receive_within(signals));
            extra = co_await receive_info_if_pending(signals);
        });
        EXPECT_EQ(got, (std::vector<int>{SIGRTMIN, SIGUSR1, SIGRTMIN}));
        EXPECT_FALSE(extra.has_value()) << describe(*extra);
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// The sender of an item is never torn: two forked children each send SIGUSR1 many times
// with their own pid as the sigqueue value, while three threads take the signals (their
// handlers race each other and the loop's reads); every item's value must equal its pid.
TEST(SignalInfo, SenderInfoIsNeverTorn) {
    const auto status = anyio_test::run_in_child(
        [] {
            constexpr int sends_per_child = 100000;
            // Repeats still pending at close are re-raised: let the previous disposition
            // ignore them.
            set_handler(SIGUSR1, SIG_IGN);
            // Only the helper threads take SIGUSR1, so handlers run on several threads.
            sigset_t usr1;
            ::sigemptyset(&usr1);
            ::sigaddset(&usr1, SIGUSR1);
            ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &usr1, nullptr), 0);
            long items = 0;
            long torn = 0;
            std::set<pid_t> senders;
            pid_t children[2] = {-1, -1};
            int child_status[2] = {-1, -1};
            anyio::run([&]() -> anyio::task<> {
                auto signals = anyio::open_signal_receiver(SIGUSR1);
                std::vector<std::jthread> takers;
                for (int i = 0; i < 3; ++i) {
                    takers.emplace_back([&usr1](const std::stop_token& stop) {
                        ::pthread_sigmask(SIG_UNBLOCK, &usr1, nullptr);
                        while (!stop.stop_requested())
                            std::this_thread::sleep_for(100us);
                    });
                }
                for (pid_t& child : children) {
                    child = ::fork();
                    if (child == 0) {
                        const pid_t self = ::getpid();
                        const pid_t parent = ::getppid();
                        for (int i = 0; i < sends_per_child; ++i)
                            ::sigqueue(parent, SIGUSR1, int_value(self));
                        ::_exit(0);
                    }
                    EXPECT_GT(child, 0);
                }
                int running = 2;
                const auto check = [&](const anyio::signal_info& item) {
                    ++items;
                    senders.insert(item.pid);
                    if (item.value.sival_int != item.pid || item.code != SI_QUEUE ||
                        item.uid != ::getuid()) {
                        if (++torn <= 10) ADD_FAILURE() << "torn: " << describe(item);
                    }
                };
                co_await anyio::fail_after(60s, [&]() -> anyio::task<> {
                    while (running > 0) {
                        const auto item = co_await anyio::move_on_after(
                            20ms, [&]() -> anyio::task<anyio::signal_info> {
                                co_return co_await signals.receive_info();
                            });
                        if (item) check(*item);
                        for (int i = 0; i < 2; ++i) {
                            if (children[i] > 0 && child_status[i] == -1 &&
                                ::waitpid(children[i], &child_status[i], WNOHANG) == children[i]) {
                                --running;
                            }
                        }
                    }
                });
                // Both are gone: take what is still pending.
                while (const auto item = co_await receive_info_if_pending(signals))
                    check(*item);
                for (std::jthread& t : takers)
                    t.request_stop();
            });
            ASSERT_EQ(::pthread_sigmask(SIG_UNBLOCK, &usr1, nullptr), 0);
            for (const int s : child_status)
                EXPECT_TRUE(WIFEXITED(s) && WEXITSTATUS(s) == 0);
            EXPECT_EQ(torn, 0) << "of " << items << " items";
            EXPECT_GE(items, 2);
            // Both children were seen (else the race was not exercised).
            EXPECT_EQ(senders.count(children[0]), 1U);
            EXPECT_EQ(senders.count(children[1]), 1U);
        },
        std::chrono::seconds(120));
    EXPECT_TRUE(status.ok()) << status.describe();
}
