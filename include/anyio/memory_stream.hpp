#pragma once
// Memory object streams (AnyIO's create_memory_object_stream): a FIFO channel of C++
// objects between tasks of one loop.
//
//     auto [send, receive] = anyio::create_memory_object_stream<int>(10);
//     co_await send.send(42);          // blocks while the buffer is full
//     int x = co_await receive.receive();
//
// max_buffer_size: how many items the stream holds with no receiver waiting. 0 makes a
// rendezvous channel (every send waits for a receiver to take the item);
// anyio::unbounded_buffer (std::size_t(-1)) never makes a sender wait.
//
// Semantics, as in AnyIO 4:
//  - send() hands the item straight to the longest-waiting receiver if there is one,
//    otherwise appends it to the buffer, and blocks (FIFO among senders) while the buffer
//    is full.
//  - receive() takes the oldest item (from the buffer, else from the longest-waiting
//    sender) and blocks while there is none.
//  - Both are checkpoints (also when they complete at once); cancellation never loses an
//    item: a sender cancelled while blocked did not deliver its item, a receiver cancelled
//    while waiting consumed none, and once an item was handed to a waiting receiver the
//    receive can no longer be cancelled (the item is returned; the next checkpoint throws).
//  - clone() makes another end of the same kind; the other side sees an end closed only
//    when every clone of it is closed (close() or the destructor).
//  - All send ends closed: receive() drains the buffer, then throws anyio::end_of_stream;
//    blocked receivers are woken with it.
//  - All receive ends closed: send() throws anyio::broken_resource_error; blocked senders
//    are woken with it and their items are not delivered.
//  - Using an end after closing it (or after moving from it) throws
//    anyio::closed_resource_error; a task blocked on an end that another task closes is
//    woken with it.
//  - send_nowait / receive_nowait never block and are not checkpoints; where the blocking
//    form would block they throw anyio::would_block.
//
// Loop thread only: every end, and every task using it, belongs to one loop.

#include <anyio/detail/runtime.hpp>
#include <anyio/detail/waiter_list.hpp>
#include <anyio/exceptions.hpp>

#include <coroutine>
#include <cstddef>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace anyio {

// max_buffer_size meaning "no limit".
inline constexpr std::size_t unbounded_buffer = std::numeric_limits<std::size_t>::max();

// What memory_object_*_stream::statistics() reports (AnyIO's MemoryObjectStreamStatistics).
struct memory_object_stream_statistics {
    std::size_t current_buffer_used = 0;
    std::size_t max_buffer_size = 0;
    std::size_t open_send_streams = 0;
    std::size_t open_receive_streams = 0;
    std::size_t tasks_waiting_send = 0;
    std::size_t tasks_waiting_receive = 0;
};

template <class T>
class memory_object_send_stream;
template <class T>
class memory_object_receive_stream;

// Creates a memory object stream holding up to `max_buffer_size` items (0: rendezvous;
// unbounded_buffer: no limit). Returns {send end, receive end}.
template <class T>
[[nodiscard]] std::pair<memory_object_send_stream<T>, memory_object_receive_stream<T>>
create_memory_object_stream(std::size_t max_buffer_size = 0);

namespace detail {

// How a stream operation ended, besides success.
enum class stream_outcome { ok, would_block, closed, broken, end_of_stream };

// Throws the exception for a failed outcome (ok: does nothing).
void throw_stream_outcome(stream_outcome outcome, const char* what);

template <class T>
class memory_send_awaiter;
template <class T>
class memory_receive_awaiter;

// What every end of one stream shares.
template <class T>
struct memory_stream_state {
    explicit memory_stream_state(std::size_t max) noexcept : max_buffer_size(max) {}

    std::size_t max_buffer_size;
    std::size_t open_send_channels = 1;
    std::size_t open_receive_channels = 1;
    std::deque<T> buffer;
    waiter_list<memory_send_awaiter<T>> waiting_senders;
    waiter_list<memory_receive_awaiter<T>> waiting_receivers;

    // The non-blocking part of a send. On ok the item was moved from; otherwise untouched.
    stream_outcome try_send(T& item);
    // The non-blocking part of a receive. On ok `out` holds the item.
    stream_outcome try_receive(std::optional<T>& out);

    // An end closed: wake the tasks blocked on that end, and, when it was the last end of
    // its kind, the other side's.
    void send_end_closed(const void* end) noexcept;
    void receive_end_closed(const void* end) noexcept;

    memory_object_stream_statistics statistics() const noexcept {
        return {buffer.size(),         max_buffer_size,        open_send_channels,
                open_receive_channels, waiting_senders.size(), waiting_receivers.size()};
    }
};

enum class stream_side { send, receive };

// What the two ends of a stream have in common: shared state, closing, cloning.
template <class T, stream_side Side>
class memory_stream_end {
public:
    memory_stream_end(const memory_stream_end&) = delete;
    memory_stream_end& operator=(const memory_stream_end&) = delete;

    // Closes this end (idempotent). Tasks blocked on this end get closed_resource_error;
    // when it was the last open end of its side, the other side learns it (receivers get
    // end_of_stream, senders broken_resource_error).
    void close() noexcept {
        if (closed_ || !state_) return;
        closed_ = true;
        if constexpr (Side == stream_side::send) {
            state_->send_end_closed(this);
        } else {
            state_->receive_end_closed(this);
        }
    }

    [[nodiscard]] bool closed() const noexcept { return closed_ || !state_; }

    [[nodiscard]] memory_object_stream_statistics statistics() const noexcept {
        return state_ ? state_->statistics() : memory_object_stream_statistics{};
    }

protected:
    memory_stream_end() noexcept = default;
    explicit memory_stream_end(std::shared_ptr<memory_stream_state<T>> s) noexcept
        : state_(std::move(s)), closed_(false) {}
    memory_stream_end(memory_stream_end&& other) noexcept
        : state_(std::move(other.state_)), closed_(std::exchange(other.closed_, true)) {}
    memory_stream_end& operator=(memory_stream_end&& other) noexcept {
        if (this != &other) {
            close();
            state_ = std::move(other.state_);
            closed_ = std::exchange(other.closed_, true);
        }
        return *this;
    }
    ~memory_stream_end() { close(); }

    [[nodiscard]] memory_stream_state<T>* state() const noexcept { return state_.get(); }
    void require_open(const char* what) const {
        if (closed()) throw_stream_outcome(stream_outcome::closed, what);
    }
    // The state for a new end of this side (a clone).
    std::shared_ptr<memory_stream_state<T>> share(const char* what) const {
        require_open(what);
        if constexpr (Side == stream_side::send) {
            ++state_->open_send_channels;
        } else {
            ++state_->open_receive_channels;
        }
        return state_;
    }

private:
    friend class memory_send_awaiter<T>;
    friend class memory_receive_awaiter<T>;

    std::shared_ptr<memory_stream_state<T>> state_;
    bool closed_ = true;
};

template <class T>
class memory_send_awaiter : protected blocking_operation {
public:
    memory_send_awaiter(memory_stream_end<T, stream_side::send>& end,
                        T&& item) noexcept(std::is_nothrow_move_constructible_v<T>)
        : end_(&end), item_(std::move(item)) {}
    // Movable until awaited (unless_cancelled wraps it).
    memory_send_awaiter(memory_send_awaiter&&) noexcept(std::is_nothrow_move_constructible_v<T>) =
        default;
    memory_send_awaiter& operator=(const memory_send_awaiter&) = delete;
    ~memory_send_awaiter() = default;

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h);
    void await_resume() const {
        throw_if_aborted();
        throw_stream_outcome(outcome_, "memory_object_send_stream::send()");
    }

private:
    friend struct memory_stream_state<T>;
    friend class waiter_list<memory_send_awaiter>;

    bool withdraw() noexcept override {
        state_->waiting_senders.remove(*this);
        return true;
    }
    // Called by the state after unlinking this waiter.
    void complete(stream_outcome outcome) noexcept {
        outcome_ = outcome;
        finish();
    }

    memory_stream_end<T, stream_side::send>* end_;
    memory_stream_state<T>* state_ = nullptr;
    T item_;
    stream_outcome outcome_ = stream_outcome::ok;
    memory_send_awaiter* prev_ = nullptr;
    memory_send_awaiter* next_ = nullptr;
};

template <class T>
class memory_receive_awaiter : protected blocking_operation {
public:
    explicit memory_receive_awaiter(memory_stream_end<T, stream_side::receive>& end) noexcept
        : end_(&end) {}
    // Movable until awaited (unless_cancelled wraps it).
    memory_receive_awaiter(memory_receive_awaiter&&) noexcept(
        std::is_nothrow_move_constructible_v<T>) = default;
    memory_receive_awaiter& operator=(const memory_receive_awaiter&) = delete;
    ~memory_receive_awaiter() = default;

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h);
    T await_resume() {
        throw_if_aborted();
        throw_stream_outcome(outcome_, "memory_object_receive_stream::receive()");
        return std::move(*item_);
    }

private:
    friend struct memory_stream_state<T>;
    friend class waiter_list<memory_receive_awaiter>;

    // Only a waiter still in the queue can be withdrawn: once a sender handed it an item
    // (or a close woke it) it is no longer parked, so this is never asked then.
    bool withdraw() noexcept override {
        state_->waiting_receivers.remove(*this);
        return true;
    }
    void complete(stream_outcome outcome) noexcept {
        outcome_ = outcome;
        finish();
    }

    memory_stream_end<T, stream_side::receive>* end_;
    memory_stream_state<T>* state_ = nullptr;
    std::optional<T> item_;
    stream_outcome outcome_ = stream_outcome::ok;
    memory_receive_awaiter* prev_ = nullptr;
    memory_receive_awaiter* next_ = nullptr;
};

}  // namespace detail

// The sending end of a memory object stream. Move-only; the destructor closes it.
// close(), closed() and statistics() come from detail::memory_stream_end.
template <class T>
class memory_object_send_stream : public detail::memory_stream_end<T, detail::stream_side::send> {
    using end_base = detail::memory_stream_end<T, detail::stream_side::send>;

public:
    memory_object_send_stream() noexcept = default;
    memory_object_send_stream(memory_object_send_stream&&) noexcept = default;
    memory_object_send_stream& operator=(memory_object_send_stream&&) noexcept = default;
    ~memory_object_send_stream() = default;

    // Sends `item`, waiting while the buffer is full and no receiver waits. A checkpoint.
    // Throws broken_resource_error when every receive end is closed (also when that
    // happens while waiting: the item was then not delivered), closed_resource_error when
    // this end is closed. Cancelled while waiting: the item was not delivered.
    [[nodiscard]] detail::memory_send_awaiter<T> send(T item) noexcept(
        std::is_nothrow_move_constructible_v<T>) {
        return detail::memory_send_awaiter<T>(*this, std::move(item));
    }

    // Sends without waiting: throws would_block where send() would wait (the item is then
    // not delivered), and the same errors as send(). Not a checkpoint.
    void send_nowait(T item) {
        constexpr const char* what = "memory_object_send_stream::send_nowait()";
        this->require_open(what);
        detail::throw_stream_outcome(this->state()->try_send(item), what);
    }

    // Another send end of the same stream. Throws closed_resource_error if this is closed.
    [[nodiscard]] memory_object_send_stream clone() const {
        return memory_object_send_stream(this->share("memory_object_send_stream::clone()"));
    }

private:
    template <class U>
    friend std::pair<memory_object_send_stream<U>, memory_object_receive_stream<U>>
        create_memory_object_stream(std::size_t);

    explicit memory_object_send_stream(std::shared_ptr<detail::memory_stream_state<T>> s) noexcept
        : end_base(std::move(s)) {}
};

// The receiving end of a memory object stream. Move-only; the destructor closes it (items
// left in the buffer are destroyed with the last end). close(), closed() and statistics()
// come from detail::memory_stream_end.
template <class T>
class memory_object_receive_stream
    : public detail::memory_stream_end<T, detail::stream_side::receive> {
    using end_base = detail::memory_stream_end<T, detail::stream_side::receive>;

public:
    memory_object_receive_stream() noexcept = default;
    memory_object_receive_stream(memory_object_receive_stream&&) noexcept = default;
    memory_object_receive_stream& operator=(memory_object_receive_stream&&) noexcept = default;
    ~memory_object_receive_stream() = default;

    // Receives the oldest item, waiting while there is none. A checkpoint. Throws
    // end_of_stream once every send end is closed and the buffer is empty,
    // closed_resource_error when this end is closed. Cancelled while waiting: no item
    // was consumed.
    [[nodiscard]] detail::memory_receive_awaiter<T> receive() noexcept {
        return detail::memory_receive_awaiter<T>(*this);
    }

    // Receives without waiting: throws would_block where receive() would wait, and the
    // same errors as receive(). Not a checkpoint.
    T receive_nowait() {
        constexpr const char* what = "memory_object_receive_stream::receive_nowait()";
        this->require_open(what);
        std::optional<T> item;
        detail::throw_stream_outcome(this->state()->try_receive(item), what);
        return std::move(*item);
    }

    // Another receive end of the same stream. Throws closed_resource_error if this is
    // closed.
    [[nodiscard]] memory_object_receive_stream clone() const {
        return memory_object_receive_stream(this->share("memory_object_receive_stream::clone()"));
    }

private:
    template <class U>
    friend std::pair<memory_object_send_stream<U>, memory_object_receive_stream<U>>
        create_memory_object_stream(std::size_t);

    explicit memory_object_receive_stream(
        std::shared_ptr<detail::memory_stream_state<T>> s) noexcept
        : end_base(std::move(s)) {}
};

template <class T>
std::pair<memory_object_send_stream<T>, memory_object_receive_stream<T>>
create_memory_object_stream(std::size_t max_buffer_size) {
    static_assert(std::is_move_constructible_v<T>, "stream items must be movable");
    auto state = std::make_shared<detail::memory_stream_state<T>>(max_buffer_size);
    return {memory_object_send_stream<T>(state), memory_object_receive_stream<T>(state)};
}

// ---------------------------------------------------------------------------------------
// Implementation

namespace detail {

template <class T>
stream_outcome memory_stream_state<T>::try_send(T& item) {
    if (open_receive_channels == 0) return stream_outcome::broken;
    if (memory_receive_awaiter<T>* r = waiting_receivers.pop_front(); r != nullptr) {
        // Handed over: the receiver is no longer parked, so it cannot be cancelled out of
        // the item any more.
        r->item_.emplace(std::move(item));
        r->complete(stream_outcome::ok);
        return stream_outcome::ok;
    }
    if (buffer.size() < max_buffer_size) {
        buffer.push_back(std::move(item));
        return stream_outcome::ok;
    }
    return stream_outcome::would_block;
}

template <class T>
stream_outcome memory_stream_state<T>::try_receive(std::optional<T>& out) {
    if (memory_send_awaiter<T>* s = waiting_senders.front(); s != nullptr) {
        // Only reached when the buffer is full (or 0-sized): the sender's item goes behind
        // the buffered ones, keeping FIFO order.
        buffer.push_back(std::move(s->item_));
        waiting_senders.remove(*s);
        s->complete(stream_outcome::ok);
    }
    if (!buffer.empty()) {
        out.emplace(std::move(buffer.front()));
        buffer.pop_front();
        return stream_outcome::ok;
    }
    if (open_send_channels == 0) return stream_outcome::end_of_stream;
    return stream_outcome::would_block;
}

template <class T>
void memory_stream_state<T>::send_end_closed(const void* end) noexcept {
    --open_send_channels;
    for (memory_send_awaiter<T>* s = waiting_senders.front(); s != nullptr;) {
        memory_send_awaiter<T>* next = s->next_;
        if (s->end_ == end) {
            waiting_senders.remove(*s);
            s->complete(stream_outcome::closed);
        }
        s = next;
    }
    if (open_send_channels == 0) {
        while (memory_receive_awaiter<T>* r = waiting_receivers.pop_front()) {
            r->complete(stream_outcome::end_of_stream);
        }
    }
}

template <class T>
void memory_stream_state<T>::receive_end_closed(const void* end) noexcept {
    --open_receive_channels;
    for (memory_receive_awaiter<T>* r = waiting_receivers.front(); r != nullptr;) {
        memory_receive_awaiter<T>* next = r->next_;
        if (r->end_ == end) {
            waiting_receivers.remove(*r);
            r->complete(stream_outcome::closed);
        }
        r = next;
    }
    if (open_receive_channels == 0) {
        while (memory_send_awaiter<T>* s = waiting_senders.pop_front()) {
            s->complete(stream_outcome::broken);
        }
    }
}

template <class T>
bool memory_send_awaiter<T>::await_suspend(std::coroutine_handle<> h) {
    if (!begin(h, "memory_object_send_stream::send()")) return false;
    if (end_->closed()) {
        outcome_ = stream_outcome::closed;
        yield_now();
        return true;
    }
    state_ = end_->state_.get();
    outcome_ = state_->try_send(item_);
    if (outcome_ != stream_outcome::would_block) {
        yield_now();  // a checkpoint even when it completes at once
        return true;
    }
    outcome_ = stream_outcome::ok;
    state_->waiting_senders.push_back(*this);
    park();
    return true;
}

template <class T>
bool memory_receive_awaiter<T>::await_suspend(std::coroutine_handle<> h) {
    if (!begin(h, "memory_object_receive_stream::receive()")) return false;
    if (end_->closed()) {
        outcome_ = stream_outcome::closed;
        yield_now();
        return true;
    }
    state_ = end_->state_.get();
    outcome_ = state_->try_receive(item_);
    if (outcome_ != stream_outcome::would_block) {
        yield_now();
        return true;
    }
    outcome_ = stream_outcome::ok;
    state_->waiting_receivers.push_back(*this);
    park();
    return true;
}

}  // namespace detail
}  // namespace anyio
