#pragma once
// How a stream wrapper (buffered, text, stapled) takes the stream it wraps: any class
// derived from the abc interface, by value (moved onto the heap, so the wrapper stays
// movable whatever the wrapped stream is), or already boxed in a std::unique_ptr.

#include <concepts>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace anyio::detail {

// A stream passed by value: a class derived from Base, not a pointer or a reference, and
// not the wrapper itself (Self: moving a wrapper is a move, not a wrap). The test for Self
// comes first, so that checking a wrapper's own move never instantiates the rest (clang 14
// recursed there when this asked whether S is move-constructible).
template <class S, class Base, class Self>
concept boxable_stream =
    !std::same_as<std::remove_cvref_t<S>, Self> && !std::is_lvalue_reference_v<S> &&
    std::derived_from<std::remove_cvref_t<S>, Base>;

template <class Base, class S>
std::unique_ptr<Base> box_stream(S&& stream) {
    return std::make_unique<std::remove_cvref_t<S>>(std::move(stream));
}

// A null pointer is a caller's mistake, refused at once rather than at the first receive.
template <class Base>
std::unique_ptr<Base> require_stream(std::unique_ptr<Base> stream, const char* who) {
    if (!stream) throw std::invalid_argument(std::string("anyio: ") + who + ": a null stream");
    return stream;
}

}  // namespace anyio::detail
