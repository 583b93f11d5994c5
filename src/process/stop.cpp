// process::stop, the one implementation of "signal, grace, SIGKILL, reap": run_process's
// cancellation and aclose's come here through stop_process.
#include "process/stop.hpp"

#include <anyio/cancel_scope.hpp>
#include <anyio/time.hpp>

#include "process/process_state.hpp"

#include <csignal>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>

namespace anyio {

namespace detail {

void check_stop_arguments(const char* who, std::chrono::milliseconds grace, int signo) {
    if (grace < grace.zero()) {
        throw std::invalid_argument(std::string(who) + "grace is negative (" +
                                    std::to_string(grace.count()) + " ms)");
    }
    // Signal 0 only probes; kill() accepts it, but it would stop nothing.
    if (signo <= 0 || signo > SIGRTMAX) {
        throw std::invalid_argument(std::string(who) + "signal " + std::to_string(signo) +
                                    " is not a signal number");
    }
}

task<> stop_process(process& child, std::chrono::milliseconds grace, int signo) {
    auto stop_it = [&]() -> task<> {
        try {
            (void)co_await child.stop(grace, signo);
        } catch (const std::system_error&) {
            // ECHILD: reaped by someone else, so it is gone too.
        }
    };
    co_await shielded(stop_it);
}

}  // namespace detail

task<int> process::stop() {
    const detail::process_state& s = state("stop");
    co_return co_await stop(s.termination_grace, s.termination_signal);
}

task<int> process::stop(std::chrono::milliseconds grace, int signo) {
    detail::check_stop_arguments("anyio::process::stop: ", grace, signo);
    detail::process_state& s = state("stop");
    // Whatever ends the graceful part early (cancellation above all) is rethrown only
    // once the child is reaped.
    std::exception_ptr interrupted;
    try {
        co_await checkpoint();
        const std::optional<int> ended = s.poll();
        if (ended) co_return *ended;
        if (grace > grace.zero()) {
            s.send_signal(signo);
            auto wait_for_exit = [this]() -> task<int> { co_return co_await wait(); };
            const std::optional<int> exited = co_await move_on_after(grace, wait_for_exit);
            if (exited) co_return *exited;
        }
    } catch (...) {
        interrupted = std::current_exception();
    }
    // Shielded: a cancelled caller must not leave the child running. SIGKILL cannot be
    // caught, so this wait is as short as the kernel's work of ending the child.
    auto kill_and_wait = [this]() -> task<int> {
        kill();
        co_return co_await wait();
    };
    int code = 0;
    std::exception_ptr reap_error;
    try {
        code = co_await shielded(kill_and_wait);
    } catch (...) {
        reap_error = std::current_exception();
    }
    if (interrupted) std::rethrow_exception(interrupted);
    if (reap_error) std::rethrow_exception(reap_error);
    co_return code;
}

}  // namespace anyio
