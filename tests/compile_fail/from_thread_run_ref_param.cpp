// from_thread::run(worker, counter) with worker(int&): the task's own copy of counter
// cannot bind to int&, so this must not compile with ANYIO_COMPILE_FAIL defined, and must
// say why; std::ref(counter) compiles (the control, part of the normal build).
#include <anyio/from_thread.hpp>

#include <functional>

namespace {
anyio::task<> worker(int& n) {
    ++n;
    co_return;
}
}  // namespace

void run_from_worker(int& counter) {
#ifdef ANYIO_COMPILE_FAIL
    anyio::from_thread::run(worker, counter);
#else
    anyio::from_thread::run(worker, std::ref(counter));
#endif
}
