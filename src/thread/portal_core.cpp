#include "thread/portal_core.hpp"

#include <anyio/cancel_scope.hpp>
#include <anyio/event.hpp>
#include <anyio/task_group.hpp>

#include "core/loop.hpp"
#include "signal/dispatcher.hpp"
#include "thread/loop_gate.hpp"
#include "thread/portal_stop.hpp"
#include "thread/request_inbox.hpp"
#include "thread/signal_mask.hpp"
#include "thread/thread_errors.hpp"
#include "thread/thread_support.hpp"

#include <csignal>
#include <exception>
#include <future>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace anyio::detail {

// What the portal's loop and the threads calling into it share.
struct portal_shared {
    portal_shared()
        : policy{false, nullptr, [this](cancel_origin o) { return cancelled_error(o); }} {}

    // Portal loop thread only: calls waiting for the host task, the host's group scope,
    // and stop() having reached the loop.
    request_inbox inbox;
    cancel_scope* group_scope = nullptr;
    event stop_called;
    serve_policy policy;
    // Written by the portal thread before it reports that it runs (the promise publishes
    // it), read-only afterwards.
    std::shared_ptr<loop_gate> gate;
    // Any thread.
    portal_stop_state stop;

    // Loop thread: what a cancelled call's thread gets, saying who cancelled it.
    [[nodiscard]] std::exception_ptr cancelled_error(cancel_origin origin) const {
        switch (origin) {
            case cancel_origin::own_scope:
                return std::make_exception_ptr(
                    portal_call_cancelled(portal_cancel_reason::future_cancelled));
            case cancel_origin::enclosing_scope:
                if (const int signo = stop.signal()) {
                    return std::make_exception_ptr(
                        portal_call_cancelled(portal_cancel_reason::signal, signo));
                }
                return std::make_exception_ptr(
                    portal_call_cancelled(portal_cancel_reason::portal_stopped));
            case cancel_origin::task:
                break;
        }
        return std::make_exception_ptr(portal_call_cancelled(portal_cancel_reason::task));
    }

    // Loop thread: refuses calls from now on, `signo` naming the signal that stopped the
    // portal (0: stop()). The first close stays.
    void close(int signo) {
        inbox.close([signo] { return portal_closed_error(signo); });
    }

    // Loop thread: cancels the running calls and fails the queued ones.
    void cancel_remaining() {
        inbox.fail_pending([this] { return cancelled_error(cancel_origin::enclosing_scope); });
        if (group_scope != nullptr) group_scope->cancel();
    }

    // Loop thread, for the first termination signal (and any later one).
    void stop_by_signal(int signo) noexcept {
        stop.request(signo);
        close(signo);
        cancel_remaining();
    }
};

namespace {

// The portal whose loop this thread runs. A thread id would not do: a thread started after
// the portal's thread ended may get the same one.
thread_local const portal_shared* portal_of_this_thread = nullptr;

// run_with_portal: Ctrl+C and the graceful signals as anyio::run claims them.
void claim_termination(loop& lp, const run_options& options, portal_shared& shared) {
    std::vector<int> terminating{SIGINT};
    terminating.insert(terminating.end(), options.graceful_signals.begin(),
                       options.graceful_signals.end());
    const unsigned force_exit_at =
        options.on_second_interrupt == second_interrupt::force_exit ? 2 : 3;
    lp.signals().claim_termination(terminating, force_exit_at,
                                   [&shared](int signo) noexcept { shared.stop_by_signal(signo); });
}

// The portal loop's main task: starts every call as a child of one task group until the
// inbox closes, then, once stop() reached the loop, refuses whatever still arrives.
task<void> host(std::shared_ptr<portal_shared> shared, std::promise<void>& running,
                const run_options* claim) {
    loop& lp = *loop::current();
    std::shared_ptr<loop_gate> gate = lp.threads().gate;
    if (claim != nullptr) claim_termination(lp, *claim, *shared);
    co_await with_task_group([&](task_group& group) -> task<void> {
        shared->group_scope = &group.cancel_scope();
        shared->gate = gate;
        running.set_value();
        co_await shared->inbox.serve(group, shared->policy);
    });
    shared->group_scope = nullptr;
    // After a signal, the signals stay claimed until run_with_portal stops the portal: the
    // second-interrupt policy holds while the program's main unwinds.
    co_await shared->stop_called.wait();
    if (claim != nullptr) lp.signals().release_termination();
    gate->close([signo = shared->stop.signal()] { return portal_closed_error(signo); });
}

}  // namespace

portal_core::portal_core(std::optional<run_options> claim)
    : shared_(std::make_shared<portal_shared>()) {
    std::promise<void> running;
    std::future<void> started = running.get_future();
    {
        // The portal thread inherits the blocked mask before it runs anything.
        const async_signals_blocked blocked;
        thread_ = std::thread(
            [shared = shared_, claim = std::move(claim)](std::promise<void> ready) {
                portal_of_this_thread = shared.get();
                try {
                    // The loop itself claims no signal (run's own Ctrl+C handling would end
                    // it); the host claims them for the portal when asked to.
                    run_on_new_loop(host(shared, ready, claim ? &*claim : nullptr), run_options{},
                                    false);
                } catch (...) {
                    try {
                        ready.set_exception(std::current_exception());
                    } catch (const std::future_error&) {
                        // The portal was running: whatever ended it afterwards has
                        // nobody to report to (calls are settled through the gate).
                    }
                }
            },
            std::move(running));
    }
    try {
        started.get();
    } catch (...) {
        thread_.join();
        throw;
    }
}

void portal_core::submit(const std::shared_ptr<thread_request>& call, const char* what) {
    refuse_on_portal_thread(what);
    if (shared_->stop.requested()) throw_stopped(what);
    call->gate = shared_->gate;
    const bool posted =
        shared_->gate->post_call(call, [shared = shared_, call] { shared->inbox.push(call); });
    if (!posted) throw_stopped(what);
}

void portal_core::stop(bool cancel_remaining) {
    refuse_on_portal_thread("anyio::blocking_portal::stop");
    // Other threads' submit() fails fast from here on; the gate decides the races.
    shared_->stop.request(0);
    if (!stop_called_.exchange(true)) {
        shared_->gate->post([shared = shared_, cancel_remaining] {
            shared->close(0);
            if (cancel_remaining) shared->cancel_remaining();
            shared->stop_called.set();
        });
    }
    const std::lock_guard lock(join_mutex_);
    if (thread_.joinable()) thread_.join();
}

bool portal_core::running() const noexcept {
    return !shared_->stop.requested();
}

int portal_core::wait_for_stop() {
    refuse_on_portal_thread("anyio::blocking_portal::wait_for_stop");
    return shared_->stop.wait();
}

bool portal_core::wait_for_stop_until(std::chrono::steady_clock::time_point deadline) {
    refuse_on_portal_thread("anyio::blocking_portal::wait_for_stop_for");
    return shared_->stop.wait_until(deadline);
}

int portal_core::stop_signal() const noexcept {
    return shared_->stop.signal();
}

void portal_core::refuse_on_portal_thread(const char* what) const {
    if (portal_of_this_thread == shared_.get()) {
        throw std::logic_error(std::string(what) +
                               " called on the portal's own thread: it would wait for "
                               "itself; await the task directly");
    }
}

void portal_core::throw_stopped(const char* what) const {
    throw closed_resource_error(portal_closed_message(what, shared_->stop.signal()));
}

}  // namespace anyio::detail
