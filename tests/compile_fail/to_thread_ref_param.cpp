// to_thread::run_sync(work, counter) with work(int&): the worker's copy cannot bind to
// int&. Must fail with ANYIO_COMPILE_FAIL; std::ref is the control.
#include <anyio/to_thread.hpp>

#include <functional>

namespace {
void work(int& n) {
    ++n;
}
}  // namespace

anyio::task<> run_work(int& counter) {
#ifdef ANYIO_COMPILE_FAIL
    co_await anyio::to_thread::run_sync(work, counter);
#else
    co_await anyio::to_thread::run_sync(work, std::ref(counter));
#endif
}
