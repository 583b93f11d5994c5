#include "core/deadline_heap.hpp"

#include <utility>

namespace anyio::detail {

void deadline_heap::push(timer_node& node) {
    nodes_.push_back(&node);
    node.heap_index = nodes_.size() - 1;
    sift_up(node.heap_index);
}

void deadline_heap::erase(timer_node& node) noexcept {
    const std::size_t i = node.heap_index;
    node.heap_index = timer_node::not_queued;
    timer_node* last = nodes_.back();
    nodes_.pop_back();
    if (last == &node) return;
    place(i, last);
    sift_up(i);
    sift_down(last->heap_index);
}

void deadline_heap::sift_up(std::size_t i) noexcept {
    timer_node* node = nodes_[i];
    while (i > 0) {
        const std::size_t parent = (i - 1) / 2;
        if (!(node->when < nodes_[parent]->when)) break;
        place(i, nodes_[parent]);
        i = parent;
    }
    place(i, node);
}

void deadline_heap::sift_down(std::size_t i) noexcept {
    timer_node* node = nodes_[i];
    const std::size_t n = nodes_.size();
    for (;;) {
        std::size_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && nodes_[child + 1]->when < nodes_[child]->when) ++child;
        if (!(nodes_[child]->when < node->when)) break;
        place(i, nodes_[child]);
        i = child;
    }
    place(i, node);
}

}  // namespace anyio::detail
