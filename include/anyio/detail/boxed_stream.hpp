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

// A stream passed by value: a class derived from Base, not a pointer or a reference.
template <class S, class Base>
concept boxable_stream =
    std::derived_from<std::remove_cvref_t<S>, Base> && !std::is_lvalue_reference_v<S> &&
    std::move_constructible<S>;

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
