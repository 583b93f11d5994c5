#pragma once
// An intrusive FIFO of blocked waiters, shared by the synchronization primitives. A
// waiter type T has `T* prev_` and `T* next_` members (null when not queued). O(1)
// push, pop and removal of any member (a cancelled waiter withdraws itself).

#include <cstddef>

namespace anyio::detail {

template <class T>
class waiter_list {
public:
    [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
    [[nodiscard]] T* front() const noexcept { return head_; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

    void push_back(T& w) noexcept {
        w.prev_ = tail_;
        w.next_ = nullptr;
        if (tail_ != nullptr) {
            tail_->next_ = &w;
        } else {
            head_ = &w;
        }
        tail_ = &w;
        ++size_;
    }

    T* pop_front() noexcept {
        T* w = head_;
        if (w != nullptr) remove(*w);
        return w;
    }

    void remove(T& w) noexcept {
        if (w.prev_ != nullptr) {
            w.prev_->next_ = w.next_;
        } else {
            head_ = w.next_;
        }
        if (w.next_ != nullptr) {
            w.next_->prev_ = w.prev_;
        } else {
            tail_ = w.prev_;
        }
        w.prev_ = w.next_ = nullptr;
        --size_;
    }

private:
    T* head_ = nullptr;
    T* tail_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace anyio::detail
