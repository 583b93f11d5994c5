// blocking_portal::start_task(worker, counter) with worker(task_status<>&, int&): the task's
// own copy of counter cannot bind to int&, so this must not compile with ANYIO_COMPILE_FAIL
// defined, and must say why; std::ref(counter) compiles (the control, part of the normal
// build).
#include <anyio/blocking_portal.hpp>

#include <functional>

namespace {
anyio::task<> worker(anyio::task_status<>& status, int& n) {
    ++n;
    status.started();
    co_return;
}
}  // namespace

void start_through_portal(anyio::blocking_portal& portal, int& counter) {
#ifdef ANYIO_COMPILE_FAIL
    portal.start_task(worker, counter).future.get();
#else
    portal.start_task(worker, std::ref(counter)).future.get();
#endif
}
