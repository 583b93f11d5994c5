#include "thread/thread_errors.hpp"

#include "signal/registry.hpp"

#include <string>

namespace anyio {

namespace {
std::string describe(portal_cancel_reason reason, int signo) {
    const std::string prefix = "anyio::blocking_portal: the portal task ";
    switch (reason) {
        case portal_cancel_reason::future_cancelled:
            return prefix + "was cancelled by portal_future::cancel()";
        case portal_cancel_reason::portal_stopped:
            return prefix +
                   "was cancelled because the portal was stopped (stop(true) or its "
                   "destructor)";
        case portal_cancel_reason::signal:
            return prefix + "was cancelled because " + detail::signals::signal_name(signo) +
                   " stopped the portal";
        case portal_cancel_reason::task:
            break;
    }
    return prefix +
           "ended with anyio::cancelled, though neither portal_future::cancel() nor "
           "a stop of the portal cancelled it";
}
}  // namespace

portal_call_cancelled::portal_call_cancelled(portal_cancel_reason reason, int signo)
    : std::runtime_error(describe(reason, signo)), reason_(reason), signo_(signo) {}

namespace detail {

std::exception_ptr waiting_task_cancelled_error() {
    return std::make_exception_ptr(
        worker_cancelled("anyio::from_thread: the task waiting for this worker thread was "
                         "cancelled"));
}

std::exception_ptr loop_ended_error() {
    return std::make_exception_ptr(
        worker_cancelled("anyio::from_thread: the event loop of the task that started this "
                         "worker thread has ended"));
}

std::string portal_closed_message(const char* what, int signo) {
    if (signo == 0) return std::string(what) + ": the portal has stopped";
    return std::string(what) + ": the portal was stopped by " + signals::signal_name(signo);
}

std::exception_ptr portal_closed_error(int signo) {
    return std::make_exception_ptr(
        closed_resource_error(portal_closed_message("anyio::blocking_portal", signo)));
}

std::exception_ptr dropped_call_error() {
    return std::make_exception_ptr(
        closed_resource_error("anyio: the call was dropped: nothing serves it any more"));
}

}  // namespace detail
}  // namespace anyio
