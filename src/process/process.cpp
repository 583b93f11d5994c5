#include <anyio/process.hpp>
#include <anyio/time.hpp>

#include "process/process_state.hpp"
#include "process/spawn.hpp"
#include "process/stop.hpp"

#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

#include <signal.h>
#include <sys/wait.h>

namespace anyio {

namespace {

byte_stream& pipe_or_throw(std::optional<byte_stream>& pipe, const char* name) {
    if (!pipe) {
        throw std::logic_error(std::string("anyio::process: ") + name +
                               " was not opened with stdio::pipe()");
    }
    return *pipe;
}

// Held by the task that waits on the pidfd; when that task stops waiting (the child ended
// or the task was cancelled), the tasks queued behind it wake and one of them takes over.
class leader_turn {
public:
    explicit leader_turn(detail::process_state& state)
        : state_(state), next_(std::make_shared<event>()) {}
    leader_turn(const leader_turn&) = delete;
    leader_turn& operator=(const leader_turn&) = delete;
    ~leader_turn() { std::exchange(state_.leader_left, std::move(next_))->set(); }

private:
    detail::process_state& state_;
    std::shared_ptr<event> next_;  // allocated up front: the destructor must not throw
};

}  // namespace

process::process(std::unique_ptr<detail::process_state> state) noexcept
    : state_(std::move(state)) {}
process::process(process&&) noexcept = default;
process& process::operator=(process&&) noexcept = default;
process::~process() = default;

detail::process_state& process::state(const char* what) const {
    if (!state_) {
        throw std::logic_error(std::string("anyio::process::") + what + " on a moved-from process");
    }
    return *state_;
}

pid_t process::pid() const noexcept {
    return state_ ? state_->pid() : -1;
}

std::optional<int> process::returncode() const {
    return state("returncode").poll();
}

byte_stream& process::stdin_stream() {
    return pipe_or_throw(state("stdin_stream").stdin_pipe, "stdin");
}
byte_stream& process::stdout_stream() {
    return pipe_or_throw(state("stdout_stream").stdout_pipe, "stdout");
}
byte_stream& process::stderr_stream() {
    return pipe_or_throw(state("stderr_stream").stderr_pipe, "stderr");
}

void process::send_signal(int signo) {
    state("send_signal").send_signal(signo);
}
void process::terminate() {
    send_signal(SIGTERM);
}
void process::kill() {
    send_signal(SIGKILL);
}

task<int> process::wait() {
    detail::process_state& s = state("wait");
    co_await checkpoint();
    for (;;) {
        const std::optional<int> code = s.poll();
        if (code) co_return *code;
        if (s.exit_watch->has_waiter(detail::io_direction::read)) {
            const std::shared_ptr<event> left = s.leader_left;
            co_await left->wait();
        } else {
            const leader_turn turn(s);
            co_await s.exit_watch->wait(detail::io_direction::read);
        }
    }
}

task<> process::aclose() {
    detail::process_state& s = state("aclose");
    for (auto* pipe : {&s.stdin_pipe, &s.stdout_pipe, &s.stderr_pipe}) {
        if (*pipe) (*pipe)->close();
    }
    std::exception_ptr error;
    try {
        (void)co_await wait();
    } catch (...) {
        error = std::current_exception();
    }
    if (!error) co_return;
    if (s.unreaped()) co_await detail::stop_process(*this, std::chrono::milliseconds(0));
    std::rethrow_exception(error);
}

task<process> open_process(std::vector<std::string> argv, process_options options) {
    co_await checkpoint();
    detail::check_stop_arguments("anyio::open_process: termination_", options.termination_grace,
                                 options.termination_signal);
    detail::spawned_child child = detail::spawn_child(argv, options);
    const pid_t pid = child.pid;
    try {
        auto state = std::make_unique<detail::process_state>(std::move(child));
        state->termination_grace = options.termination_grace;
        state->termination_signal = options.termination_signal;
        co_return process(std::move(state));
    } catch (...) {
        // Out of memory or descriptors half-way: the child must not outlive the error.
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        throw;
    }
}

}  // namespace anyio
