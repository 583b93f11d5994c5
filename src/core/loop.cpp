#include "core/loop.hpp"

#include "core/io_source.hpp"
#include "core/mock_clock_access.hpp"
#include "signal/dispatcher.hpp"
#include "thread/thread_support.hpp"

#include <array>
#include <chrono>
#include <stdexcept>
#include <utility>

namespace anyio::detail {

namespace {
thread_local loop* tl_loop = nullptr;
thread_local task_state* tl_task = nullptr;
}  // namespace

task_state* current_task() noexcept {
    return tl_task;
}

task_state& require_task(const char* what) {
    if (tl_task == nullptr) {
        throw std::logic_error(std::string("anyio: ") + what +
                               " must be used inside a task run by anyio::run");
    }
    return *tl_task;
}

void schedule(task_state& task) noexcept {
    task.owner->schedule(task);
}

void add_timer(loop& l, timer_node& timer) {
    l.timers().push(timer);
}
void remove_timer(loop& l, timer_node& timer) noexcept {
    if (timer.queued()) l.timers().erase(timer);
}

loop::loop() {
    wakeup_.fd = backend_.wake_fd();
    if (tl_loop != nullptr) {
        throw std::logic_error(
            "anyio::run: this thread already runs an event loop (anyio::run cannot nest)");
    }
    tl_loop = this;
}

loop::~loop() {
    // First: a thread calling the clock's jump() must not reach a dying loop.
    if (mock_ != nullptr) mock_clock_access::unbind(*mock_);
    // Closes the door worker threads post through before anything they could reach dies.
    threads_.reset();
    // The dispatcher waits for in-flight signal handlers before the eventfd closes.
    signals_.reset();
    while (io_source* source = registered_) {
        untrack(*source);
        source->on_loop_closed();
    }
    tl_loop = nullptr;
}

void loop::track(io_source& source) noexcept {
    source.prev_registered_ = nullptr;
    source.next_registered_ = registered_;
    if (registered_ != nullptr) registered_->prev_registered_ = &source;
    registered_ = &source;
    ++registered_count_;
}

void loop::untrack(io_source& source) noexcept {
    if (source.prev_registered_ != nullptr) {
        source.prev_registered_->next_registered_ = source.next_registered_;
    } else {
        registered_ = source.next_registered_;
    }
    if (source.next_registered_ != nullptr) {
        source.next_registered_->prev_registered_ = source.prev_registered_;
    }
    source.prev_registered_ = source.next_registered_ = nullptr;
    --registered_count_;
}

loop* loop::current() noexcept {
    return tl_loop;
}

void loop::use_clock(testing::mock_clock* c) {
    if (c != nullptr) mock_clock_access::bind(*c, *this);
    if (mock_ != nullptr) mock_clock_access::unbind(*mock_);
    mock_ = c;
}

clock::time_point loop::mock_now() const noexcept {
    return mock_->now();
}

void loop::schedule(task_state& task) noexcept {
    task.next_ready = nullptr;
    if (ready_.tail != nullptr) {
        ready_.tail->next_ready = &task;
    } else {
        ready_.head = &task;
    }
    ready_.tail = &task;
}

signal_dispatcher& loop::signals() {
    if (!signals_) signals_ = std::make_unique<signal_dispatcher>(*this);
    return *signals_;
}

thread_support& loop::threads() {
    if (!threads_) threads_ = std::make_unique<thread_support>(*this);
    return *threads_;
}

void loop::post(std::function<void()> fn) {
    {
        const std::lock_guard lock(posted_mutex_);
        posted_.push_back(std::move(fn));
    }
    wakeup_.notify();
}

void loop::run_posted() {
    std::vector<std::function<void()>> batch;
    {
        const std::lock_guard lock(posted_mutex_);
        batch.swap(posted_);
    }
    for (auto& fn : batch)
        fn();
}

void loop::run_ready_batch() noexcept {
    // Only the tasks ready now: what they schedule runs after the next poll, so a task
    // that keeps yielding cannot starve I/O, timers or signals.
    run_queue batch = std::exchange(ready_, run_queue{});
    task_state* t = batch.head;
    while (t != nullptr) {
        task_state* next = t->next_ready;
        tl_task = t;
        // The task may finish and free its state in there: read nothing after.
        if (t->start != nullptr) [[unlikely]] {
            std::exchange(t->start, nullptr)(*t);
        } else {
            t->resume_point.resume();
        }
        tl_task = nullptr;
        t = next;
    }
}

void loop::poll_and_fire() {
    bool poll = true;
    std::chrono::nanoseconds timeout{-1};
    idle_wait idle;  // under a mock clock only
    if (ready_.head != nullptr) {
        timeout = std::chrono::nanoseconds::zero();
        // Fairness: readiness that arrived while this batch ran must join the run queue
        // now, behind the tasks already ready, not after everything those tasks make ready
        // next; a connection whose data is always there would otherwise be served again
        // and again while one that waits in epoll starves. Skipped only when it cannot
        // find anything: no source registered, and the wake fd is covered by `pending`.
        poll = registered_count_ > 0;
    } else if (const timer_node* next = timers_.top()) {
        if (mock_ == nullptr) [[likely]] {
            timeout = std::max(next->when - clock::now(), clock::duration::zero());
        } else {
            idle = mock_clock_access::plan(*mock_, next->when);
            timeout = idle.timeout;
        }
    }
    int ready = 0;
    if (poll) {
        // Up to this many ready sources join the queue per poll; the rest stay first in
        // epoll's ready list for the next one.
        std::array<epoll_event, 256> events;
        if (timeout != std::chrono::nanoseconds::zero()) {
            wakeup_.polling.store(true);
            if (wakeup_.pending.load()) timeout = std::chrono::nanoseconds::zero();
        }
        ready = backend_.poll(timeout, events);
        wakeup_.polling.store(false);
        // Sources only schedule tasks here, so none can be closed (and freed) before the
        // rest of this batch is delivered.
        for (int i = 0; i < ready; ++i) {
            const epoll_event& ev = events[static_cast<std::size_t>(i)];
            if (ev.data.u64 == epoll_backend::wake_token) continue;
            reinterpret_cast<io_source*>(static_cast<std::uintptr_t>(ev.data.u64))
                ->on_ready(ev.events);
        }
    }
    bool posted = false;
    if (wakeup_.pending.load(std::memory_order_relaxed) && wakeup_.pending.exchange(false)) {
        posted = true;
        run_posted();
        if (signals_) signals_->dispatch();
    }
    if (timers_.empty()) return;
    // Autojump when the idle wait ran its course and nothing happened (Trio's test): no
    // readiness, nothing posted from another thread, no task made runnable. A thread or
    // another process still working is invisible here (mock_clock.hpp).
    if (idle.autojump && ready == 0 && !posted && ready_.head == nullptr &&
        clock::now() >= idle.not_before) {
        mock_clock_access::advance_to(*mock_, timers_.top()->when);
    }
    if (mock_ == nullptr && !due_.may_have_come(timers_.top()->when)) return;
    const clock::time_point now = this->now();
    while (timer_node* top = timers_.top()) {
        if (now < top->when) break;
        timers_.erase(*top);
        top->fire(*top);
    }
}

void loop::run_until(const bool& done) {
    while (!done) {
        run_ready_batch();
        if (done) break;
        poll_and_fire();
    }
}

}  // namespace anyio::detail
