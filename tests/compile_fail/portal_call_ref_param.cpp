// blocking_portal::call(plain, counter) with plain(int&): the call's own copy of counter
// cannot bind to int&, so this must not compile with ANYIO_COMPILE_FAIL defined, and must
// say why; std::ref(counter) compiles (the control, part of the normal build).
#include <anyio/blocking_portal.hpp>

#include <functional>

namespace {
void plain(int& n) {
    ++n;
}
}  // namespace

void call_through_portal(anyio::blocking_portal& portal, int& counter) {
#ifdef ANYIO_COMPILE_FAIL
    portal.call(plain, counter);
#else
    portal.call(plain, std::ref(counter));
#endif
}
