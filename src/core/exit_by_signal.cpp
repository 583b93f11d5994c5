// How a program that anyio::run ended by a signal leaves the process: the Unix way, by
// that signal, after all cleanup ran. run_main does it directly; for a plain
// `int main() { anyio::run(main_task); }` that lets keyboard_interrupt escape, a terminate
// hook does it, so a Ctrl+C never turns into "terminate called", SIGABRT and a core dump.

#include <anyio/exceptions.hpp>
#include <anyio/run.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include <pthread.h>
#include <unistd.h>

namespace anyio::detail {

namespace {

// The hook that was there before ours: everything that is not our interrupt goes to it.
std::atomic<std::terminate_handler> previous_terminate{nullptr};

[[noreturn]] void terminate_by_interrupt() noexcept {
    if (const std::exception_ptr error = std::current_exception()) {
        try {
            std::rethrow_exception(error);
        } catch (const keyboard_interrupt&) {
            die_by_signal(SIGINT);
        } catch (const terminated& e) {
            die_by_signal(e.signo);
        } catch (...) {  // not ours: the previous hook decides
        }
    }
    if (const std::terminate_handler previous = previous_terminate.load()) previous();
    std::abort();
}

}  // namespace

void exit_by_signal_if_uncaught() noexcept {
    const std::terminate_handler current = std::get_terminate();
    if (current == &terminate_by_interrupt) return;
    previous_terminate.store(current);
    std::set_terminate(&terminate_by_interrupt);
}

void die_by_signal(int signo) noexcept {
    // What the program printed is part of its cleanup (Python flushes before it re-raises
    // SIGINT too); the signal's default action would drop stdio's buffers.
    std::fflush(nullptr);
    // The init of a PID namespace: the kernel drops signals at their default disposition
    // that come from inside the namespace, its own raise included, so the signal cannot
    // end it. The shell's convention for "killed by" says the same to whoever waits.
    if (::getpid() == 1) ::_exit(128 + signo);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(signo, &dfl, nullptr);
    sigset_t only;
    ::sigemptyset(&only);
    ::sigaddset(&only, signo);
    ::pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
    ::raise(signo);
    // Only if the signal could not end us: the init of a PID namespace ignores signals at
    // their default disposition, even its own. The shell's convention for "killed by".
    ::_exit(128 + signo);
}

}  // namespace anyio::detail
