#include "process/stop.hpp"

#include <anyio/cancel_scope.hpp>
#include <anyio/time.hpp>

#include <csignal>
#include <system_error>

namespace anyio::detail {

task<> stop_process(process& child, std::chrono::milliseconds grace) {
    cancel_scope shielded_scope(clock::time_point::max(), true);
    co_await shielded_scope.run([&]() -> task<> {
        try {
            if (grace > grace.zero()) {
                child.terminate();
                const bool exited =
                    co_await move_on_after(grace, [&]() -> task<> { (void)co_await child.wait(); });
                if (exited) co_return;
            }
            child.kill();
            (void)co_await child.wait();
        } catch (const std::system_error&) {
            // ECHILD: reaped by someone else, so it is gone too.
        }
    });
}

}  // namespace anyio::detail
