// g++ 12 destroys a capturing lambda written inside a co_await expression twice (GCC PR
// 100611), so each API whose result is awaited in place refuses that form there at compile
// time. With ANYIO_COMPILE_FAIL and ANYIO_AWAITED_CASE=n defined, case n is written the
// natural way and must not compile, with the message; without them every case passes its
// lambda by name and compiles (the control, part of the normal build). Registered only for
// g++ 12 and older (tests/CMakeLists.txt): elsewhere the natural form is correct and allowed.
#include <anyio/anyio.hpp>

#include <chrono>
#include <memory>

#if defined(ANYIO_COMPILE_FAIL)
#define NATURAL(n) (ANYIO_AWAITED_CASE == (n))
#else
#define NATURAL(n) 0
#endif

using namespace std::chrono_literals;

anyio::task<> awaited_temporaries(std::shared_ptr<int> p, anyio::socket_listener& listener) {
    auto body = [p]() -> anyio::task<> { co_await anyio::checkpoint(); };
#if NATURAL(1)
    (void)co_await anyio::move_on_after(1s, [p]() -> anyio::task<> { co_return; });
#else
    (void)co_await anyio::move_on_after(1s, body);
#endif
#if NATURAL(2)
    co_await anyio::fail_after(1s, [p]() -> anyio::task<> { co_return; });
#else
    co_await anyio::fail_after(1s, body);
#endif
    anyio::cancel_scope scope;
#if NATURAL(3)
    (void)co_await scope.run([p]() -> anyio::task<> { co_return; });
#else
    (void)co_await scope.run(body);
#endif
#if NATURAL(4)
    co_await anyio::shielded([p]() -> anyio::task<> { co_return; });
#else
    co_await anyio::shielded(body);
#endif
#if NATURAL(5)
    co_await anyio::on_cancelled(body, [p]() -> anyio::task<> { co_return; });
#else
    co_await anyio::on_cancelled(body, body);
#endif
    auto group_body = [p](anyio::task_group&) -> anyio::task<> { co_return; };
#if NATURAL(6)
    co_await anyio::with_task_group([p](anyio::task_group&) -> anyio::task<> { co_return; });
#else
    co_await anyio::with_task_group(group_body);
#endif
    auto starter = [p](anyio::task_status<int>& status) -> anyio::task<> {
        status.started(1);
        co_return;
    };
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
#if NATURAL(7)
        (void)co_await tg.start([p](anyio::task_status<int>& status) -> anyio::task<> {
            status.started(1);
            co_return;
        });
#else
        (void)co_await tg.start(starter);
#endif
    });
    auto work = [p] { return *p; };
#if NATURAL(8)
    (void)co_await anyio::to_thread::run_sync([p] { return *p; });
#else
    (void)co_await anyio::to_thread::run_sync(work);
#endif
    auto handler = [p](anyio::socket_stream) -> anyio::task<> { co_return; };
#if NATURAL(9)
    co_await listener.serve([p](anyio::socket_stream) -> anyio::task<> { co_return; });
#else
    co_await listener.serve(handler);
#endif
    anyio::lock mutex;
#if NATURAL(10)
    co_await mutex.with([p]() -> anyio::task<> { co_return; });
#else
    co_await mutex.with(body);
#endif
}
