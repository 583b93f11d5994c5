// task_group::start_soon(worker, std::ref(counter)) with a generic worker(auto&): the
// std::reference_wrapper (a copy, passed as an rvalue) cannot bind to auto&, so this must
// not compile with ANYIO_COMPILE_FAIL defined, and must say so rather than suggest
// std::ref; naming the parameter's type compiles (the control, part of the normal build).
#include <anyio/task_group.hpp>

#include <functional>

anyio::task<> start_worker(anyio::task_group& tg, int& counter) {
#ifdef ANYIO_COMPILE_FAIL
    tg.start_soon(
        [](auto& n) -> anyio::task<> {
            ++n;
            co_return;
        },
        std::ref(counter));
#else
    tg.start_soon(
        [](int& n) -> anyio::task<> {
            ++n;
            co_return;
        },
        std::ref(counter));
#endif
    co_return;
}
