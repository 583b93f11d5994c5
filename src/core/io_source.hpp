#pragma once
// What the loop calls when epoll reports readiness: anything registered with the backend
// under a token that is the address of an io_source (every token but the wake token).

#include <cstdint>

namespace anyio::detail {

class io_source {
public:
    // Runs on the loop thread right after the poll that reported `events`, before any task
    // runs; it may only wake tasks (schedule), never resume them or free other sources.
    virtual void on_ready(std::uint32_t events) noexcept = 0;
    // The loop is being destroyed while the source is still registered with it: forget
    // the loop (its epoll goes away with it). The source may register with another loop
    // later.
    virtual void on_loop_closed() noexcept = 0;

protected:
    io_source() = default;
    io_source(const io_source&) = default;
    io_source& operator=(const io_source&) = default;
    ~io_source() = default;

private:
    friend class loop;
    io_source* prev_registered_ = nullptr;  // links in the loop's list of registered sources
    io_source* next_registered_ = nullptr;
};

}  // namespace anyio::detail
