// task_group::start_soon(worker, counter) with worker(int&): the child's own copy of counter
// cannot bind to int&, so this must not compile (with ANYIO_COMPILE_FAIL defined) and must
// say why; std::ref(counter) compiles (the control, part of the normal build).
#include <anyio/task_group.hpp>

#include <functional>

namespace {
anyio::task<> worker(int& n) {
    ++n;
    co_return;
}
}  // namespace

anyio::task<> start_worker(anyio::task_group& tg, int& counter) {
#ifdef ANYIO_COMPILE_FAIL
    tg.start_soon(worker, counter);
#else
    tg.start_soon(worker, std::ref(counter));
#endif
    co_return;
}
