#include "thread/signal_mask.hpp"

#include <initializer_list>

#include <pthread.h>

namespace anyio::detail {

sigset_t async_signals() noexcept {
    sigset_t set;
    ::sigfillset(&set);
    for (const int fault : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS})
        ::sigdelset(&set, fault);
    return set;
}

async_signals_blocked::async_signals_blocked() noexcept {
    const sigset_t blocked = async_signals();
    ::pthread_sigmask(SIG_BLOCK, &blocked, &saved_);
}

async_signals_blocked::~async_signals_blocked() {
    ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
}

}  // namespace anyio::detail
