// wait_readable / wait_writable / notify_closing on descriptors the test owns: real pipes,
// socketpairs and files.

#include <anyio/anyio.hpp>

#include "support/descriptors.hpp"
#include "support/run_helpers.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

using anyio_test::open_fd_count;
using anyio_test::run_guarded;
using anyio_test::settle;

struct fd_pair {
    int read_end = -1;
    int write_end = -1;
    fd_pair() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
        read_end = fds[0];
        write_end = fds[1];
    }
    fd_pair(const fd_pair&) = delete;
    fd_pair& operator=(const fd_pair&) = delete;
    ~fd_pair() {
        if (read_end >= 0) ::close(read_end);
        if (write_end >= 0) ::close(write_end);
    }
};

bool is_open(int fd) {
    return ::fcntl(fd, F_GETFD) >= 0;
}

TEST(WaitFd, ReadableWaitsForDataAndLeavesItThere) {
    run_guarded([]() -> anyio::task<> {
        fd_pair p;
        bool woke = false;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await anyio::wait_readable(p.read_end);
                woke = true;
            });
            co_await settle();
            EXPECT_FALSE(woke);
            EXPECT_EQ(::write(p.write_end, "x", 1), 1);
        });
        EXPECT_TRUE(woke);
        char c = 0;
        EXPECT_EQ(::read(p.read_end, &c, 1), 1);  // the wait consumed nothing
        EXPECT_EQ(c, 'x');
        EXPECT_TRUE(is_open(p.read_end));
    });
}

TEST(WaitFd, ReadableReturnsWhenDataIsAlreadyThere) {
    run_guarded([]() -> anyio::task<> {
        fd_pair p;
        EXPECT_EQ(::write(p.write_end, "x", 1), 1);
        co_await anyio::wait_readable(p.read_end);
        co_await anyio::wait_readable(p.read_end);  // level: still readable
    });
}

TEST(WaitFd, HangUpEndsAReadWait) {
    run_guarded([]() -> anyio::task<> {
        fd_pair p;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> { co_await anyio::wait_readable(p.read_end); });
            co_await settle();
            ::close(p.write_end);
            p.write_end = -1;
        });
        char c = 0;
        EXPECT_EQ(::read(p.read_end, &c, 1), 0);
    });
}

TEST(WaitFd, WritableWaitsUntilAFullPipeIsDrained) {
    run_guarded([]() -> anyio::task<> {
        fd_pair p;
        const int flags = ::fcntl(p.write_end, F_GETFL);
        EXPECT_EQ(::fcntl(p.write_end, F_SETFL, flags | O_NONBLOCK), 0);
        const std::string block(65536, 'z');
        while (::write(p.write_end, block.data(), block.size()) > 0) {
        }
        EXPECT_EQ(errno, EAGAIN);
        bool woke = false;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await anyio::wait_writable(p.write_end);
                woke = true;
            });
            co_await settle();
            EXPECT_FALSE(woke);
            std::string sink(65536, '\0');
            EXPECT_GT(::read(p.read_end, sink.data(), sink.size()), 0);
        });
        EXPECT_TRUE(woke);
        EXPECT_EQ(::fcntl(p.write_end, F_GETFL), flags | O_NONBLOCK);  // flags untouched
    });
}

TEST(WaitFd, CancellationWithdrawsTheWaitAndLeaksNothing) {
    run_guarded([]() -> anyio::task<> {
        fd_pair p;
        const std::size_t fds_before = open_fd_count();
        anyio::cancel_scope scope;
        bool finished = true;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                finished = co_await scope.run(
                    [&]() -> anyio::task<> { co_await anyio::wait_readable(p.read_end); });
            });
            co_await settle();
            EXPECT_EQ(open_fd_count(), fds_before + 1);  // the wait's duplicate
            scope.cancel();
        });
        EXPECT_FALSE(finished);
        EXPECT_TRUE(scope.cancelled_caught());
        EXPECT_EQ(open_fd_count(), fds_before);
        EXPECT_TRUE(is_open(p.read_end));
        // The direction is free again: a new wait is no busy_resource_error.
        EXPECT_EQ(::write(p.write_end, "x", 1), 1);
        co_await anyio::wait_readable(p.read_end);
    });
}

TEST(WaitFd, AlreadyCancelledThrowsWithoutWaiting) {
    run_guarded([]() -> anyio::task<> {
        fd_pair p;
        EXPECT_EQ(::write(p.write_end, "x", 1), 1);
        anyio::cancel_scope scope;
        scope.cancel();
        bool reached_after = false;
        co_await scope.run([&]() -> anyio::task<> {
            co_await anyio::wait_readable(p.read_end);  // readable, yet a checkpoint
            reached_after = true;
        });
        EXPECT_FALSE(reached_after);
        EXPECT_TRUE(scope.cancelled_caught());
    });
}

TEST(WaitFd, SecondWaiterInTheSameDirectionIsBusy) {
    run_guarded([]() -> anyio::task<> {
        int sv[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        bool busy = false;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> { co_await anyio::wait_readable(sv[0]); });
            co_await settle();
            try {
                co_await anyio::wait_readable(sv[0]);
            } catch (const anyio::busy_resource_error& error) {
                busy = true;
                EXPECT_NE(std::string(error.what()).find("readable"), std::string::npos);
            }
            // The other direction of the same descriptor is free (and ready at once).
            co_await anyio::wait_writable(sv[0]);
            EXPECT_EQ(::write(sv[1], "x", 1), 1);
        });
        EXPECT_TRUE(busy);
        ::close(sv[0]);
        ::close(sv[1]);
    });
}

TEST(WaitFd, NotifyClosingWakesWaitersWithClosedResourceError) {
    run_guarded([]() -> anyio::task<> {
        fd_pair p;
        int closed_errors = 0;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                try {
                    co_await anyio::wait_readable(p.read_end);
                } catch (const anyio::closed_resource_error&) {
                    ++closed_errors;
                }
            });
            co_await settle();
            anyio::notify_closing(p.read_end);
            anyio::notify_closing(p.read_end);  // nobody waits any more: nothing happens
            ::close(p.read_end);
            p.read_end = -1;
        });
        EXPECT_EQ(closed_errors, 1);
    });
}

TEST(WaitFd, ARegularFileIsAlwaysReady) {
    run_guarded([]() -> anyio::task<> {
        anyio_test::temp_dir dir("anyio-wait-fd");
        const int fd = ::open(dir.file("f").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        EXPECT_GE(fd, 0);
        co_await anyio::wait_readable(fd);
        co_await anyio::wait_writable(fd);
        ::close(fd);
    });
}

TEST(WaitFd, BadDescriptorsAreErrors) {
    run_guarded([]() -> anyio::task<> {
        bool invalid = false;
        try {
            co_await anyio::wait_readable(-1);
        } catch (const std::invalid_argument&) {
            invalid = true;
        }
        EXPECT_TRUE(invalid);
        fd_pair p;
        const int stale = p.read_end;
        ::close(p.read_end);
        p.read_end = -1;
        int error = 0;
        try {
            co_await anyio::wait_readable(stale);
        } catch (const std::system_error& e) {
            error = e.code().value();
        }
        EXPECT_EQ(error, EBADF);
    });
}

}  // namespace
