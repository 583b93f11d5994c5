#include "thread/thread_support.hpp"

namespace anyio::detail {

thread_support::thread_support(loop& l) : gate(std::make_shared<loop_gate>(l)) {}

thread_support::~thread_support() {
    gate->close(&loop_ended_error);
}

}  // namespace anyio::detail
