#include <anyio/portal_main.hpp>

#include "thread/portal_core.hpp"

#include <memory>

namespace anyio::detail {

blocking_portal start_main_portal(const run_options& options) {
    validate(options);
    return blocking_portal(std::make_unique<portal_core>(options));
}

void end_main_portal(blocking_portal& portal) {
    portal.stop(true);  // std::logic_error if fn moved the portal away
    if (const int signo = portal.stop_signal()) die_by_signal(signo);
}

}  // namespace anyio::detail
