#pragma once
// What lock_guard, semaphore_guard and capacity_limiter_guard are: move-only ownership
// of one acquisition, given back by release() or at the end of the guard's scope.
//
// `Held` is a small value type naming what was taken (null when nothing):
//   bool engaged() const noexcept;
//   void release();                      // throws as the primitive's own release() does,
//                                        // and then changes nothing
//   void release_at_scope_end() noexcept; // the destructor's release: cannot throw
//   static constexpr const char* name;   // for the error message

#include <stdexcept>
#include <string>
#include <utility>

namespace anyio::detail {

template <class Held>
class acquisition_guard {
public:
    // Holds nothing.
    acquisition_guard() noexcept = default;
    // Only the library names a Held (it lives in detail).
    explicit acquisition_guard(Held held) noexcept : held_(held) {}
    acquisition_guard(acquisition_guard&& other) noexcept
        : held_(std::exchange(other.held_, Held{})) {}
    acquisition_guard& operator=(acquisition_guard&& other) noexcept {
        if (this != &other) {
            reset();
            held_ = std::exchange(other.held_, Held{});
        }
        return *this;
    }
    acquisition_guard(const acquisition_guard&) = delete;
    acquisition_guard& operator=(const acquisition_guard&) = delete;
    ~acquisition_guard() { reset(); }

    // True while the guard holds its acquisition (not after release() or a move).
    [[nodiscard]] bool owns() const noexcept { return held_.engaged(); }
    explicit operator bool() const noexcept { return owns(); }

    // Gives the acquisition back now. Throws std::logic_error if the guard holds nothing,
    // and what the primitive's release() throws (the guard then still holds it).
    void release() {
        if (!owns()) {
            throw std::logic_error(std::string(Held::name) +
                                   "::release(): the guard holds nothing (released or moved)");
        }
        held_.release();
        held_ = Held{};
    }

private:
    void reset() noexcept {
        if (owns()) std::exchange(held_, Held{}).release_at_scope_end();
    }

    Held held_{};
};

// acquire_guard()'s awaiter: the plain acquire's, yielding a guard for what it took.
// `Acquire` names that with a protected `hold()`.
template <class Acquire>
class guard_awaiter : public Acquire {
public:
    using Acquire::Acquire;
    [[nodiscard]] auto await_resume() const {
        this->throw_if_aborted();
        return acquisition_guard<decltype(this->hold())>(this->hold());
    }
};

}  // namespace anyio::detail
