// SCRATCH (not committed)
#include <anyio/watchdog.hpp>
#include <anyio/service_notify.hpp>
#include <anyio/time.hpp>
#include <cstdlib>
#include <unistd.h>
namespace anyio {
std::optional<std::chrono::microseconds> watchdog_interval() {
  const char* u = std::getenv("WATCHDOG_USEC"); if (!u) return std::nullopt;
  const char* p = std::getenv("WATCHDOG_PID"); if (p && std::atoi(p) != getpid()) return std::nullopt;
  long v = std::atol(u); if (v <= 0) return std::nullopt; return std::chrono::microseconds(v); }
task<> run_watchdog() { auto i = watchdog_interval(); if (!i || !service_notifications_enabled()) co_return;
  for (;;) { notify_watchdog(); co_await sleep(*i / 2); } }
}
