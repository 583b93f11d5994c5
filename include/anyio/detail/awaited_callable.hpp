#pragma once
// A compile-time guard against a g++ 12 miscompilation (GCC PR 100611; the same family as
// PR 107288 and PR 95599): in a coroutine, a lambda closure (or an aggregate built with
// braces) created as a temporary inside a `co_await` full-expression is destroyed twice,
// so its captures are freed twice:
//
//     co_await anyio::move_on_after(1s, [name]() -> anyio::task<> { ... });  // double free
//
// The callee cannot repair that: the duplicate destruction happens in the caller's frame,
// whatever the callee does with its argument. So the APIs whose result is awaited in place
// (scopes, task group bodies, start, lock::with, to_thread::run_sync, serve) refuse, on
// g++ 12 and older only, a callable passed as an rvalue whose destructor does something. The
// message says what to write instead. Closures that capture only by reference or only
// trivially destructible values, function pointers and named callables pass: they are not
// affected. std::move(named) is refused too although it is not affected (the check cannot
// tell an xvalue from a temporary); pass the name (it is copied) or std::ref(name).
//
// Reproduced with g++ 12.2 (Debian 12) under ASan: tests/core/test_callable_lifetime.cpp.
// GCC's tracker has the reduced case as PR 100611 (test g++.dg/coroutines/pr100611-t.C);
// later GCC releases were not available here to test, so the check stays on 12 and older.
//
// Defining ANYIO_ALLOW_TEMPORARY_CALLABLES turns the check off (for code that builds its
// callables as temporaries outside co_await expressions and knows it).

#include <type_traits>

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ <= 12 && \
    !defined(ANYIO_ALLOW_TEMPORARY_CALLABLES)
#define ANYIO_DETAIL_REFUSE_AWAITED_TEMPORARIES 1
#else
#define ANYIO_DETAIL_REFUSE_AWAITED_TEMPORARIES 0
#endif

namespace anyio::detail {

inline constexpr bool compiler_destroys_awaited_temporaries_twice =
    ANYIO_DETAIL_REFUSE_AWAITED_TEMPORARIES != 0;

// F as deduced for a forwarding reference: an lvalue reference type for a named callable.
template <class F>
inline constexpr bool safe_awaited_callable =
    !compiler_destroys_awaited_temporaries_twice || std::is_lvalue_reference_v<F> ||
    std::is_trivially_destructible_v<std::remove_cvref_t<F>>;

template <class F>
constexpr void check_awaited_callable() noexcept {
    static_assert(safe_awaited_callable<F>,
                  "anyio: g++ 12 destroys a lambda written inside a co_await expression twice "
                  "when it captures by copy something with a destructor (GCC PR 100611): name "
                  "the lambda first (auto body = [...]() -> anyio::task<> {...}; co_await "
                  "anyio::move_on_after(t, body);), or capture by reference, or build with "
                  "clang. See README.md, \"Compilers\".");
}

}  // namespace anyio::detail
