#pragma once
// A binary min-heap of timer nodes that knows each node's position, so removing a
// deadline that never fires (the common case: most cancel-scope deadlines and sleeps are
// cut short) costs O(log n) instead of a scan.

#include <anyio/detail/runtime.hpp>

#include <cstddef>
#include <vector>

namespace anyio::detail {

class deadline_heap {
public:
    void push(timer_node& node);
    void erase(timer_node& node) noexcept;
    [[nodiscard]] timer_node* top() const noexcept {
        return nodes_.empty() ? nullptr : nodes_.front();
    }
    [[nodiscard]] bool empty() const noexcept { return nodes_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return nodes_.size(); }

private:
    void sift_up(std::size_t i) noexcept;
    void sift_down(std::size_t i) noexcept;
    void place(std::size_t i, timer_node* node) noexcept {
        nodes_[i] = node;
        node->heap_index = i;
    }
    std::vector<timer_node*> nodes_;
};

}  // namespace anyio::detail
