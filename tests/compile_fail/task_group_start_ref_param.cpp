// task_group::start(child, counter) with child(task_status<>&, int&): as start_soon, the
// copy cannot bind to int&. Must fail with ANYIO_COMPILE_FAIL; std::ref is the control.
#include <anyio/task_group.hpp>

#include <functional>

namespace {
anyio::task<> child(anyio::task_status<>& status, int& n) {
    ++n;
    status.started();
    co_return;
}
}  // namespace

anyio::task<> start_child(anyio::task_group& tg, int& counter) {
#ifdef ANYIO_COMPILE_FAIL
    co_await tg.start(child, counter);
#else
    co_await tg.start(child, std::ref(counter));
#endif
}
