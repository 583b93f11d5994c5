// blocking_portal::start_task_soon(worker, counter) with worker(int&): the task's own copy
// of counter cannot bind to int&, so this must not compile with ANYIO_COMPILE_FAIL defined,
// and must say why; std::ref(counter) compiles (the control, part of the normal build).
#include <anyio/blocking_portal.hpp>

#include <functional>

namespace {
anyio::task<> worker(int& n) {
    ++n;
    co_return;
}
}  // namespace

void start_through_portal(anyio::blocking_portal& portal, int& counter) {
#ifdef ANYIO_COMPILE_FAIL
    portal.start_task_soon(worker, counter).get();
#else
    portal.start_task_soon(worker, std::ref(counter)).get();
#endif
}
