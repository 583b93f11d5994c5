// from_thread::run_sync(plain, counter) with plain(int&): the call's own copy of counter
// cannot bind to int&, so this must not compile with ANYIO_COMPILE_FAIL defined, and must
// say why; std::ref(counter) compiles (the control, part of the normal build).
#include <anyio/from_thread.hpp>

#include <functional>

namespace {
void plain(int& n) {
    ++n;
}
}  // namespace

void run_sync_from_worker(int& counter) {
#ifdef ANYIO_COMPILE_FAIL
    anyio::from_thread::run_sync(plain, counter);
#else
    anyio::from_thread::run_sync(plain, std::ref(counter));
#endif
}
