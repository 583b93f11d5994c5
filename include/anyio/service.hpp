#pragma once
// A service's lifecycle under a supervisor (systemd, Kubernetes, or a terminal): start,
// ready, reload on SIGHUP, drain on SIGTERM, with the notifications of service_notify.hpp
// and the watchdog of watchdog.hpp sent at the right moments.
//
//     anyio::service svc({.accept_delay = std::chrono::seconds(5)});
//     svc.on_reload([&]() -> anyio::task<> { config = load(path); co_return; });
//     svc.on_stop_accepting([&] { listener.close(); });
//     co_await svc.run([&](anyio::service& s) -> anyio::task<> {
//         listener = co_await anyio::create_tcp_listener("", 8000);
//         s.ready("serving on :8000");             // READY=1, /readyz turns 200
//         co_await listener.serve(handle);         // returns once closed and drained
//     });
//
// What happens when:
//  - run opens its signal receivers before anything else, so a signal sent at any moment
//    after run started is handled; starts the watchdog task (when the manager asked for
//    one); runs the body in a cancel scope of its own.
//  - ready(): READY=1 (with STATUS=), state ready. Call it once every listener is bound.
//  - A reload signal (SIGHUP): RELOADING=1 with MONOTONIC_USEC, the reload hook, then
//    READY=1. A hook that throws keeps the old configuration (the hook must leave it
//    untouched when it fails) and the STATUS= says why. A reload signal before ready() is
//    kept and done right after it; reload signals during a reload are merged into one
//    more reload after it. Readiness stays "ready" during a reload: the old configuration
//    still serves.
//  - The first stop signal (SIGTERM, SIGINT): STOPPING=1, state stopping (is_ready()
//    false at once, for a readiness probe), then `accept_delay` later the stop-accepting
//    hooks run (the program closes its listeners) and the body gets `grace_period` to
//    finish; then its scope is cancelled. While it drains, EXTEND_TIMEOUT_USEC=2 x
//    `extend_interval` goes out every `extend_interval` in which the program made
//    progress (note_progress(), or work finishing), so a supervisor's stop timeout shorter
//    than the drain does not kill a drain that still moves. A second stop request (a new
//    request, see signal_info::requests: not the same Ctrl+C reaching the process twice)
//    skips what is left of the accept delay and of the grace period. A stop signal
//    before ready() has nothing to drain: the hooks run and the body is cancelled at once.
//  - run returns when the body returns (normally, or cut short by the grace period). A
//    body that throws: STATUS= and ERRNO= (for a std::system_error) go out, then run
//    rethrows.
//
// Notifications that fail inside the lifecycle (the manager's socket vanished) do not stop
// the service: the error is kept in last_notify_error(). Without $NOTIFY_SOCKET nothing
// is sent and all of the above still holds, so the same program runs under a terminal.
//
// Loop thread only; one service per process is the intended use (the signals are the
// process's), though nothing breaks with more.

#include <anyio/cancel_scope.hpp>
#include <anyio/event.hpp>
#include <anyio/task.hpp>
#include <anyio/task_group.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace anyio {

class signal_receiver;

struct service_options {
    // Signals that start the graceful stop, and that reload.
    std::vector<int> stop_signals = {SIGTERM, SIGINT};
    std::vector<int> reload_signals = {SIGHUP};
    // After the first stop signal: how long to keep accepting while already "not ready"
    // (Kubernetes removes the pod's endpoint in parallel with SIGTERM; connections routed
    // before that still arrive for a moment). 0: stop accepting at once.
    std::chrono::milliseconds accept_delay{0};
    // After accepting stops: how long the body has to finish before it is cancelled.
    std::chrono::milliseconds grace_period = std::chrono::seconds(30);
    // While stopping: how often EXTEND_TIMEOUT_USEC may go out (each asks for twice this).
    // 0: never.
    std::chrono::milliseconds extend_interval = std::chrono::seconds(5);
    // Send WATCHDOG=1 when the manager asks for it ($WATCHDOG_USEC).
    bool watchdog = true;
};

enum class service_state : unsigned char { starting, ready, reloading, stopping };

class service {
public:
    // Throws std::invalid_argument for a negative duration, a signal in both lists, or
    // signals open_signal_receiver refuses.
    explicit service(service_options options = {});
    service(const service&) = delete;
    service& operator=(const service&) = delete;
    ~service();

    // What a reload signal runs. Throw to refuse the new configuration.
    void on_reload(std::function<task<>()> reload);
    // What runs when accepting should stop (close the listeners). Several may be added.
    void on_stop_accepting(std::function<void()> stop);

    // Runs the lifecycle described above around body(*this). Once per service.
    [[nodiscard]] task<> run(std::function<task<>(service&)> body);

    // READY=1 (with `status` as STATUS= if not empty): startup is done. Ignored once
    // stopping. Sends what reload signals came before it afterwards. Throws
    // service_notify_error when the manager's socket cannot take it (as notify_ready).
    void ready(std::string_view status = {});
    // STATUS=: shown by `systemctl status`; also sent again with READY=1 after a reload.
    // Throws as notify_status.
    void set_status(std::string_view status);
    // Starts the graceful stop as a stop signal would (signal number 0).
    void request_stop();
    // Work done while stopping: keeps the stop timeout extended (see extend_interval).
    void note_progress() noexcept { ++progress_; }

    [[nodiscard]] service_state state() const noexcept { return state_; }
    // What a readiness probe answers: ready or reloading.
    [[nodiscard]] bool is_ready() const noexcept {
        return state_ == service_state::ready || state_ == service_state::reloading;
    }
    [[nodiscard]] bool is_stopping() const noexcept { return state_ == service_state::stopping; }
    // The signal that started the stop (0: request_stop(), or none yet).
    [[nodiscard]] int stop_signal() const noexcept { return stop_signal_; }
    // Whether the grace period (or a second stop request) cut the body short.
    [[nodiscard]] bool drain_cut_short() const noexcept { return work_.cancelled_caught(); }
    // A reload signal arrived and its reload has not started yet (before ready(), or
    // while another reload runs).
    [[nodiscard]] bool reload_pending() const noexcept { return reload_pending_; }
    // Reloads done and refused so far.
    [[nodiscard]] std::uint64_t reloads() const noexcept { return reloads_; }
    [[nodiscard]] std::uint64_t failed_reloads() const noexcept { return failed_reloads_; }
    // The last notification the lifecycle could not send ("" if none failed).
    [[nodiscard]] const std::string& last_notify_error() const noexcept { return notify_error_; }

private:
    task<> watch_signals(signal_receiver& signals);
    task<> reload_loop();
    task<> drain();
    task<> keep_extending();
    task<> keep_pinging();
    void begin_stop(int signo);
    void send(std::string_view assignments) noexcept;

    service_options options_;
    std::function<task<>()> reload_;
    std::vector<std::function<void()>> stop_hooks_;
    service_state state_ = service_state::starting;
    std::string status_;
    std::string notify_error_;
    cancel_scope work_;
    task_group* group_ = nullptr;  // the lifecycle's own tasks, while run runs
    bool ran_ = false;
    bool reload_pending_ = false;
    bool reload_running_ = false;
    bool accepting_ = true;  // until the stop-accepting hooks ran
    event second_request_;
    int stop_signal_ = 0;
    std::uint64_t progress_ = 0;
    std::uint64_t reloads_ = 0;
    std::uint64_t failed_reloads_ = 0;
};

}  // namespace anyio
