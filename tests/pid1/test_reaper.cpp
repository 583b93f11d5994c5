// The orphan reaper outside PID 1 (the rule in include/anyio/reap.hpp): it reaps the
// children nobody waits for and never one the library started or the program marked as
// its own. Each test runs in a forked child: it forks, and may become a child subreaper.

#include <gtest/gtest.h>

#include "process/process_helpers.hpp"
#include "support/child_process.hpp"

#include <anyio/anyio.hpp>

#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

using namespace std::chrono_literals;

namespace {

pid_t exiting_child(int code) {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(code);
    return pid;
}

// Blocks until `pid` has ended, without reaping it.
void wait_until_ended(pid_t pid) {
    siginfo_t info{};
    while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) != 0 &&
           errno == EINTR) {
    }
}

TEST(Reaper, ReapsAStrangerButNotAnOwnChild) {
    const auto status = anyio_test::run_in_child([] {
        const pid_t mine = exiting_child(5);
        const anyio::own_child keep(mine);
        const pid_t stranger = exiting_child(6);
        wait_until_ended(mine);
        wait_until_ended(stranger);
        EXPECT_EQ(anyio::reap_orphans_now(), 1U);
        EXPECT_TRUE(anyio_test::is_reaped(stranger));
        int wstatus = 0;
        ASSERT_EQ(::waitpid(mine, &wstatus, 0), mine);
        EXPECT_EQ(WEXITSTATUS(wstatus), 5);
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// The library's child is first in line (the slow path walks past it to the stranger).
TEST(Reaper, NeverStealsTheStatusOfALibraryChild) {
    const auto status = anyio_test::run_in_child([] {
        anyio::run([]() -> anyio::task<> {
            const auto argv = anyio_test::cmd("sh", "-c", "exit 9");
            anyio::process_options options;
            options.stdout_to = anyio::stdio::devnull();
            anyio::process p = co_await anyio::open_process(argv, options);
            wait_until_ended(p.pid());
            const pid_t stranger = exiting_child(6);
            wait_until_ended(stranger);
            EXPECT_EQ(anyio::reap_orphans_now(), 1U);
            EXPECT_TRUE(anyio_test::is_reaped(stranger));
            const int code = co_await p.wait();
            EXPECT_EQ(code, 9);
        });
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

std::size_t zombies_among_children() {
    std::size_t n = 0;
    for (const pid_t pid : anyio_test::children_of_this_process()) {
        siginfo_t info{};
        if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            info.si_pid == pid) {
            ++n;
        }
    }
    return n;
}

// Orphans of a library child's tree come to a run with orphan_reaping::always (a child
// subreaper) and are reaped as they end; the library child's own status stays its own.
anyio::task<> orphans_end(std::size_t& zombies_left) {
    const auto argv = anyio_test::cmd(PID1_CHILD_EXE, "orphans", "200");
    anyio::process p = co_await anyio::open_process(argv);
    const std::string line = co_await p.stdout_stream().receive();
    EXPECT_EQ(line, "orphans exited\n");
    const int code = co_await p.wait();
    EXPECT_EQ(code, 7);
    // The reaper runs on this loop as SIGCHLD arrives: give it turns until it is done.
    for (int turn = 0; turn < 10000 && zombies_among_children() != 0; ++turn)
        co_await anyio::sleep(1ms);
    zombies_left = zombies_among_children();
}

TEST(Reaper, RunWithReapingAlwaysReapsOrphansAsTheyEnd) {
    const auto status = anyio_test::run_in_child([] {
        // Already one, so a run that failed to reap would leave the orphans here.
        anyio::become_child_subreaper();
        anyio::run_options options;
        options.reap_orphans = anyio::orphan_reaping::always;
        std::size_t zombies_left = 99;
        anyio::run(options, orphans_end, std::ref(zombies_left));
        EXPECT_EQ(zombies_left, 0U);
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// The control: a subreaper that does not reap keeps its orphans as zombies.
TEST(Reaper, WithoutReapingTheOrphansStayZombies) {
    const auto status = anyio_test::run_in_child([] {
        anyio::become_child_subreaper();
        anyio::run_options options;
        options.reap_orphans = anyio::orphan_reaping::never;
        anyio::run(options, []() -> anyio::task<> {
            const auto argv = anyio_test::cmd(PID1_CHILD_EXE, "orphans", "20");
            anyio::process p = co_await anyio::open_process(argv);
            const int code = co_await p.wait();
            EXPECT_EQ(code, 7);
        });
        EXPECT_TRUE(anyio_test::wait_until([] { return zombies_among_children() == 20; }))
            << zombies_among_children();
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

}  // namespace
