// Ctrl+C in anyio::run (see the comment on anyio::run in run.hpp): the first SIGINT cancels
// the whole task tree, every cleanup runs, then run throws keyboard_interrupt; run_main
// turns that into death by SIGINT; a second SIGINT during cleanup ends the process at once;
// a receiver for SIGINT owns it while open; a handler someone else installed is left alone;
// run restores the disposition it found.
//
// Every scenario sends real SIGINTs to itself, so each runs in a forked child (or, for the
// acceptance test, in a separately executed program) and the test runner survives.

#include <anyio/anyio.hpp>

#include <gtest/gtest.h>

#include "support/child_process.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace std::chrono_literals;

namespace {

// --- Support -------------------------------------------------------------------------

// Scenarios need SIGINT at its default disposition and unblocked, whatever the runner was
// started with (a background job of a non-interactive shell starts with SIGINT ignored).
void default_sigint() {
    std::signal(SIGINT, SIG_DFL);
    sigset_t only_sigint;
    sigemptyset(&only_sigint);
    sigaddset(&only_sigint, SIGINT);
    pthread_sigmask(SIG_UNBLOCK, &only_sigint, nullptr);
}

struct sigaction current_sigint() {
    struct sigaction action {};
    ::sigaction(SIGINT, nullptr, &action);
    return action;
}

bool is_default(const struct sigaction& action) {
    return (action.sa_flags & SA_SIGINFO) == 0 && action.sa_handler == SIG_DFL;
}

// Sends signals to this process from another thread: the i-th signal once `phase` > i.
class signal_thread {
public:
    signal_thread(const std::atomic<int>& phase, std::vector<int> signals)
        : thread_([this, &phase, signals = std::move(signals)] {
              for (std::size_t i = 0; i < signals.size(); ++i) {
                  const auto due = [&] {
                      return stop_.load() || phase.load() > static_cast<int>(i);
                  };
                  if (!anyio_test::wait_until(due, 60s) || stop_.load()) return;
                  ::kill(::getpid(), signals[i]);
              }
          }) {}
    signal_thread(const signal_thread&) = delete;
    signal_thread& operator=(const signal_thread&) = delete;
    ~signal_thread() {
        stop_.store(true);
        thread_.join();
    }

private:
    std::atomic<bool> stop_{false};  // the destructor's way to end a wait that never ends
    std::thread thread_;
};

enum class outcome { returned, keyboard_interrupt, cancelled, other_exception };

// How anyio::run(fn) ended.
template <class F>
outcome run_outcome(F&& fn) {
    try {
        anyio::run(std::forward<F>(fn));
        return outcome::returned;
    } catch (const anyio::keyboard_interrupt&) {
        return outcome::keyboard_interrupt;
    } catch (const anyio::cancelled&) {
        return outcome::cancelled;
    } catch (...) {
        return outcome::other_exception;
    }
}

// Runs `body` in a forked child; if it does not end by itself, kills it by the hang guard.
// The child tells the parent about its progress by report(c): every byte lands in the
// result's log, in order, and each `ready_mark` makes the parent send the child the next
// signal of `signals` with kill(2).
constexpr char ready_mark = '!';
int report_fd = -1;  // the child's end of the pipe

void report(char c) {
    [[maybe_unused]] const ssize_t n = ::write(report_fd, &c, 1);
}

struct scenario_result {
    anyio_test::exit_status status;
    std::string log;
};

scenario_result run_scenario(const std::function<void()>& body, const std::vector<int>& signals,
                             std::chrono::seconds hang_guard = 60s) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        ::close(fds[0]);
        report_fd = fds[1];
        default_sigint();
        int code = 0;
        try {
            body();
            code = ::testing::Test::HasFailure() ? 1 : 0;
        } catch (...) {
            code = 2;
        }
        std::fflush(nullptr);
        ::_exit(code);
    }
    ::close(fds[1]);
    scenario_result result;
    std::size_t sent = 0;
    const auto deadline = std::chrono::steady_clock::now() + hang_guard;
    for (;;) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            result.status.hung = true;
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        if (::poll(&p, 1, 10) <= 0) continue;
        char chunk[64];
        const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
        if (n == 0) break;  // the child is gone
        for (ssize_t i = 0; i < n; ++i) {
            result.log += chunk[i];
            if (chunk[i] == ready_mark && sent < signals.size()) ::kill(pid, signals[sent++]);
        }
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
        result.status.exited = true;
        result.status.code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.status.signal = WTERMSIG(status);
    }
    return result;
}

// Runs `body` in a forked child with SIGINT at its default disposition; the test fails
// unless the child's assertions all held and it exited normally.
void in_child(const std::function<void()>& body) {
    const anyio_test::exit_status status = anyio_test::run_in_child([&] {
        default_sigint();
        body();
    });
    EXPECT_TRUE(status.ok()) << "child " << status.describe();
}

// Records a task's cleanup when the task's frame unwinds, however that happens.
struct cleanup_recorder {
    std::vector<std::string>& log;
    std::string name;
    ~cleanup_recorder() { log.push_back(name); }
};

// --- The first SIGINT ----------------------------------------------------------------

TEST(KeyboardInterrupt, FirstSigintCancelsTheWholeTreeAndAllCleanupRunsBeforeRunThrows) {
    in_child([] {
        std::atomic<int> phase{0};
        const signal_thread ctrl_c(phase, {SIGINT});
        int sleeping = 0;
        std::vector<std::string> cleaned;
        const auto fell_asleep = [&] {
            if (++sleeping == 5) phase.store(1);  // every task below is in place
        };
        auto sleeper = [&](std::string name) -> anyio::task<> {
            const cleanup_recorder on_exit{cleaned, name};
            fell_asleep();
            co_await anyio::sleep(1h);
            ADD_FAILURE() << name << " slept through Ctrl+C";
        };
        // Cleanup that awaits: it must be allowed to finish (in a shielded scope).
        auto slow_cleaner = [&]() -> anyio::task<> {
            std::exception_ptr error;
            fell_asleep();
            try {
                co_await anyio::sleep(1h);
            } catch (...) {
                error = std::current_exception();
            }
            anyio::cancel_scope shielded(anyio::clock::time_point::max(), true);
            co_await shielded.run([]() -> anyio::task<> { co_await anyio::sleep(50ms); });
            cleaned.push_back("slow cleaner");
            if (error) std::rethrow_exception(error);
        };
        auto main = [&]() -> anyio::task<> {
            const cleanup_recorder on_exit{cleaned, "main"};
            co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
                tg.start_soon(sleeper, "worker 1");
                tg.start_soon(sleeper, "worker 2");
                tg.start_soon(slow_cleaner);
                tg.start_soon([&]() -> anyio::task<> {
                    co_await anyio::with_task_group([&](anyio::task_group& inner) -> anyio::task<> {
                        inner.start_soon(sleeper, "nested worker");
                        co_return;
                    });
                });
                co_await sleeper("group body");
            });
        };
        const outcome how = run_outcome(main);

        // Every task ran its cleanup, the awaiting one to the end, before run threw.
        EXPECT_EQ(how, outcome::keyboard_interrupt);
        std::sort(cleaned.begin(), cleaned.end());
        EXPECT_EQ(cleaned, (std::vector<std::string>{"group body", "main", "nested worker",
                                                     "slow cleaner", "worker 1", "worker 2"}));
    });
}

TEST(KeyboardInterrupt, RunThrowsKeyboardInterruptWhichIsNotAStdException) {
    in_child([] {
        std::atomic<int> phase{0};
        const signal_thread ctrl_c(phase, {SIGINT});
        auto main = [&]() -> anyio::task<int> {
            phase.store(1);
            co_await anyio::sleep(1h);
            co_return 1;
        };
        bool caught_std_exception = false;
        bool caught_keyboard_interrupt = false;
        try {
            try {
                [[maybe_unused]] const int result = anyio::run(main);
                ADD_FAILURE() << "run returned after Ctrl+C";
            } catch (const std::exception&) {
                caught_std_exception = true;
            }
        } catch (const anyio::keyboard_interrupt& e) {
            caught_keyboard_interrupt = true;
            EXPECT_STREQ(e.what(), "anyio::keyboard_interrupt");
        } catch (const anyio::cancelled&) {
            ADD_FAILURE() << "run let `cancelled` escape instead of throwing keyboard_interrupt";
        }
        EXPECT_FALSE(caught_std_exception);
        EXPECT_TRUE(caught_keyboard_interrupt);
    });
}

TEST(KeyboardInterrupt, EachRunHandlesItsOwnFirstCtrlC) {
    // A finished run leaves nothing behind: the next run's first SIGINT is again a first.
    in_child([] {
        // Three requests from one sender, quicker than the request window.
        anyio::set_signal_request_window(0ns);
        auto main = []() -> anyio::task<> {
            ::raise(SIGINT);
            co_await anyio::sleep(1h);
        };
        EXPECT_EQ(run_outcome(main), outcome::keyboard_interrupt);
        EXPECT_EQ(run_outcome(main), outcome::keyboard_interrupt);
        EXPECT_EQ(run_outcome(main), outcome::keyboard_interrupt);
    });
}

TEST(KeyboardInterrupt, RunMainDiesBySigintAfterTheCleanupRan) {
    const scenario_result r = run_scenario(
        [] {
            auto main = []() -> anyio::task<> {
                struct cleanup {
                    ~cleanup() { report('c'); }
                } on_exit;
                report(ready_mark);
                co_await anyio::sleep(1h);
                report('w');  // woke up: Ctrl+C did not cancel the sleep
            };
            const int code = anyio::run_main(main);
            report(static_cast<char>('0' + code));  // run_main returned: wrong
        },
        {SIGINT});
    EXPECT_FALSE(r.status.hung);
    EXPECT_EQ(r.status.signal, SIGINT) << "child " << r.status.describe();
    EXPECT_EQ(r.log, std::string{ready_mark} + "c");
}

// --- A second SIGINT during cleanup --------------------------------------------------

TEST(KeyboardInterrupt, SecondSigintDuringAwaitingCleanupForcesExit) {
    const scenario_result r = run_scenario(
        [] {
            // Two requests from one sender (the test), quicker than the request window.
            anyio::set_signal_request_window(0ns);
            auto main = []() -> anyio::task<> {
                std::exception_ptr error;
                report(ready_mark);
                try {
                    co_await anyio::sleep(1h);
                } catch (...) {
                    error = std::current_exception();
                }
                report('s');  // cleanup started
                report(ready_mark);
                anyio::cancel_scope shielded(anyio::clock::time_point::max(), true);
                co_await shielded.run([]() -> anyio::task<> { co_await anyio::sleep(1h); });
                report('f');  // cleanup finished: the second SIGINT did not end the process
                if (error) std::rethrow_exception(error);
            };
            // Plain run, not run_main: only the forced exit may end the process by SIGINT.
            const outcome how = run_outcome(main);
            report(how == outcome::keyboard_interrupt ? 'k' : 'x');
        },
        {SIGINT, SIGINT});
    EXPECT_FALSE(r.status.hung) << "the second SIGINT did not end the process";
    EXPECT_EQ(r.status.signal, SIGINT) << "child " << r.status.describe();
    EXPECT_EQ(r.log, std::string{ready_mark} + "s" + ready_mark);
}

TEST(KeyboardInterrupt, SecondSigintForcesExitEvenWhileCleanupBlocksTheLoop) {
    const scenario_result r = run_scenario(
        [] {
            // Two requests from one sender (the test), quicker than the request window.
            anyio::set_signal_request_window(0ns);
            auto main = []() -> anyio::task<> {
                bool interrupted = false;
                report(ready_mark);
                try {
                    co_await anyio::sleep(1h);
                } catch (const anyio::cancelled&) {
                    interrupted = true;
                }
                if (!interrupted) co_return;
                report('s');
                report(ready_mark);
                // Cleanup that never yields to the loop: the loop cannot see the SIGINT.
                const auto give_up = std::chrono::steady_clock::now() + 30s;
                while (std::chrono::steady_clock::now() < give_up) {
                    std::this_thread::sleep_for(1ms);
                }
                report('f');
                throw anyio::cancelled{};
            };
            const outcome how = run_outcome(main);
            report(how == outcome::keyboard_interrupt ? 'k' : 'x');
        },
        {SIGINT, SIGINT});
    EXPECT_FALSE(r.status.hung) << "the second SIGINT did not end the process";
    EXPECT_EQ(r.status.signal, SIGINT) << "child " << r.status.describe();
    EXPECT_EQ(r.log, std::string{ready_mark} + "s" + ready_mark);
}

// --- Receivers own SIGINT ------------------------------------------------------------

TEST(KeyboardInterrupt, ReceiverOwnsSigintWhileOpenThenRunHandlesCtrlCAgain) {
    in_child([] {
        // Three requests from one sender, quicker than the request window.
        anyio::set_signal_request_window(0ns);
        std::atomic<int> phase{0};
        // Two SIGINTs while the receiver is open (neither cancels run, nor does the second
        // force an exit), then one after it closed (Ctrl+C again).
        const signal_thread sender(phase, {SIGINT, SIGINT, SIGINT});
        int received = 0;
        bool cancelled_after_close = false;
        auto main = [&]() -> anyio::task<> {
            {
                auto signals = anyio::open_signal_receiver(SIGINT);
                for (int i = 1; i <= 2; ++i) {
                    phase.store(i);
                    const int signum = co_await signals.receive();
                    EXPECT_EQ(signum, SIGINT);
                    ++received;
                    co_await anyio::sleep(20ms);  // throws if run was cancelled as well
                    co_await anyio::checkpoint();
                }
            }
            phase.store(3);
            try {
                co_await anyio::sleep(1h);
            } catch (const anyio::cancelled&) {
                cancelled_after_close = true;
                throw;
            }
        };
        EXPECT_EQ(run_outcome(main), outcome::keyboard_interrupt);
        EXPECT_EQ(received, 2);
        EXPECT_TRUE(cancelled_after_close);
    });
}

TEST(KeyboardInterrupt, ReceiverOnAnotherThreadsLoopOwnsSigintForTheProcess) {
    in_child([] {
        std::atomic<bool> receiver_open{false};
        std::atomic<bool> received{false};
        std::atomic<bool> done{false};
        std::thread other([&] {
            auto receive_one = [&]() -> anyio::task<> {
                auto signals = anyio::open_signal_receiver(SIGINT);
                receiver_open.store(true);
                const int signum = co_await signals.receive();
                EXPECT_EQ(signum, SIGINT);
                received.store(true);
                // Stay open until the main loop has checked it was not cancelled.
                while (!done.load())
                    co_await anyio::sleep(1ms);
            };
            EXPECT_EQ(run_outcome(receive_one), outcome::returned);
        });
        auto main = [&]() -> anyio::task<> {
            while (!receiver_open.load())
                co_await anyio::sleep(1ms);
            ::raise(SIGINT);
            while (!received.load())
                co_await anyio::sleep(1ms);
            co_await anyio::sleep(20ms);  // throws if this run was cancelled too
            co_await anyio::checkpoint();
        };
        const outcome how = run_outcome(main);
        done.store(true);
        other.join();
        EXPECT_EQ(how, outcome::returned);
    });
}

// --- Someone else's SIGINT disposition ---------------------------------------------

std::atomic<int> foreign_calls{0};  // the handler increments, the test reads
void foreign_handler(int) {
    foreign_calls.fetch_add(1);
}

TEST(KeyboardInterrupt, ForeignSigintHandlerIsLeftAloneAndStillInPlaceAfterRun) {
    in_child([] {
        struct sigaction custom {};
        custom.sa_handler = &foreign_handler;
        custom.sa_flags = SA_RESTART;
        sigemptyset(&custom.sa_mask);
        sigaddset(&custom.sa_mask, SIGUSR1);
        ASSERT_EQ(::sigaction(SIGINT, &custom, nullptr), 0);

        auto main = []() -> anyio::task<int> {
            EXPECT_EQ(current_sigint().sa_handler, &foreign_handler);
            ::raise(SIGINT);              // runs the handler before raise returns
            co_await anyio::sleep(20ms);  // throws if run was cancelled
            co_await anyio::checkpoint();
            co_return foreign_calls.load();
        };
        try {
            EXPECT_EQ(anyio::run(main), 1);
        } catch (const anyio::keyboard_interrupt&) {
            ADD_FAILURE() << "run took SIGINT over from a handler installed before it";
        }
        const struct sigaction after = current_sigint();
        EXPECT_EQ(after.sa_flags & SA_SIGINFO, 0);
        EXPECT_EQ(after.sa_handler, &foreign_handler);
        EXPECT_NE(after.sa_flags & SA_RESTART, 0);
        EXPECT_EQ(sigismember(&after.sa_mask, SIGUSR1), 1);
        EXPECT_EQ(sigismember(&after.sa_mask, SIGTERM), 0);
    });
}

TEST(KeyboardInterrupt, IgnoredSigintStaysIgnored) {
    // A program started with SIGINT ignored (nohup, background job) must not become
    // interruptible because it uses anyio::run.
    in_child([] {
        std::signal(SIGINT, SIG_IGN);
        auto main = []() -> anyio::task<> {
            ::raise(SIGINT);
            co_await anyio::sleep(20ms);  // throws if run was cancelled
            co_await anyio::checkpoint();
        };
        EXPECT_EQ(run_outcome(main), outcome::returned);
        EXPECT_EQ(current_sigint().sa_handler, SIG_IGN);
    });
}

// --- Restoring the default disposition -----------------------------------------------

TEST(KeyboardInterrupt, RunRestoresTheDefaultDispositionWhenItReturns) {
    in_child([] {
        const struct sigaction before = current_sigint();
        ASSERT_TRUE(is_default(before));
        bool installed_during_run = false;
        auto main = [&]() -> anyio::task<int> {
            installed_during_run = !is_default(current_sigint());
            co_await anyio::sleep(1ms);
            co_return 7;
        };
        EXPECT_EQ(anyio::run(main), 7);
        EXPECT_TRUE(installed_during_run) << "run did not take SIGINT (the test proves nothing)";
        const struct sigaction after = current_sigint();
        EXPECT_TRUE(is_default(after));
        EXPECT_EQ(after.sa_flags, before.sa_flags);
    });
}

TEST(KeyboardInterrupt, RunRestoresTheDefaultDispositionAfterCtrlCAndAfterAnError) {
    in_child([] {
        auto interrupted = []() -> anyio::task<> {
            ::raise(SIGINT);
            co_await anyio::sleep(1h);
        };
        EXPECT_EQ(run_outcome(interrupted), outcome::keyboard_interrupt);
        EXPECT_TRUE(is_default(current_sigint()));

        auto failing = []() -> anyio::task<> {
            co_await anyio::sleep(1ms);
            throw std::runtime_error("boom");
        };
        EXPECT_EQ(run_outcome(failing), outcome::other_exception);
        EXPECT_TRUE(is_default(current_sigint()));
    });
}

// --- Acceptance: a separate program blocked in sleep(1h), killed with kill -INT -------

constexpr const char* sleeper_env = "ANYIO_TEST_KEYBOARD_INTERRUPT_SLEEPER";

// The separate program: this test binary executed again with the variable above set and
// a filter that selects only the test below, which then runs this instead of its checks.
[[noreturn]] void sleeper_program() {
    auto main = []() -> anyio::task<> {
        struct cleanup {
            ~cleanup() {
                std::puts("cleanup ran");
                std::fflush(stdout);
            }
        } on_exit;
        std::puts("ready");
        std::fflush(stdout);
        co_await anyio::sleep(1h);
        std::puts("woke up");
    };
    const int code = anyio::run_main(main);
    std::printf("run_main returned %d\n", code);
    std::fflush(stdout);
    std::_Exit(code);
}

TEST(KeyboardInterrupt, ProgramSleepingInRunKilledWithKillIntCleansUpAndDiesBySigint) {
    if (std::getenv(sleeper_env) != nullptr) sleeper_program();

    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string filter =
        std::string("--gtest_filter=") + test->test_suite_name() + "." + test->name();
    ::setenv(sleeper_env, "1", 1);
    anyio_test::process program({"/proc/self/exe", filter, "--gtest_color=no"});
    ::unsetenv(sleeper_env);

    std::vector<std::string> banner;  // GoogleTest's lines come first
    for (std::string line; (line = program.read_line()) != "ready";)
        banner.push_back(line);
    program.send(SIGINT);
    const std::string rest = program.read_rest();
    const anyio_test::exit_status status = program.wait();

    EXPECT_EQ(status.signal, SIGINT) << "program " << status.describe() << "; it printed:\n"
                                     << rest;
    EXPECT_NE(rest.find("cleanup ran\n"), std::string::npos) << rest;
    EXPECT_EQ(rest.find("woke up"), std::string::npos) << rest;
    EXPECT_EQ(rest.find("run_main returned"), std::string::npos) << rest;
}

}  // namespace
