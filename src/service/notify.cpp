// SCRATCH (lead's local stand-in until the helper's implementation merges; not committed)
#include <anyio/service_notify.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
namespace anyio {
bool service_notifications_enabled() noexcept { const char* s = std::getenv("NOTIFY_SOCKET"); return s && *s; }
bool notify_service(std::string_view text) {
    const char* s = std::getenv("NOTIFY_SOCKET");
    if (!s || !*s) return false;
    sockaddr_un a{}; a.sun_family = AF_UNIX; std::string p = s;
    std::memcpy(a.sun_path, p.data(), p.size()); if (p[0]=='@') a.sun_path[0]=0;
    int fd = ::socket(AF_UNIX, SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK, 0);
    ssize_t r = ::sendto(fd, text.data(), text.size(), MSG_NOSIGNAL, (sockaddr*)&a, (socklen_t)(offsetof(sockaddr_un, sun_path)+p.size()+(p[0]=='@'?0:1)));
    int e = errno; ::close(fd);
    if (r < 0) throw service_notify_error(e, std::generic_category(), "notify");
    return true;
}
static std::string with(std::string a, std::string_view st) { if (!st.empty()) { a += "\nSTATUS="; a += st; } return a; }
bool notify_ready(std::string_view st) { return notify_service(with("READY=1", st)); }
bool notify_reloading(std::string_view st) { timespec t{}; clock_gettime(CLOCK_MONOTONIC,&t); return notify_service(with("RELOADING=1\nMONOTONIC_USEC="+std::to_string(t.tv_sec*1000000LL+t.tv_nsec/1000), st)); }
bool notify_stopping(std::string_view st) { return notify_service(with("STOPPING=1", st)); }
bool notify_status(std::string_view st) { return notify_service("STATUS="+std::string(st)); }
bool notify_errno(int e) { return notify_service("ERRNO="+std::to_string(e)); }
bool notify_extend_timeout(std::chrono::microseconds x) { return notify_service("EXTEND_TIMEOUT_USEC="+std::to_string(x.count())); }
bool notify_main_pid(pid_t p) { return notify_service("MAINPID="+std::to_string(p)); }
bool notify_watchdog() { return notify_service("WATCHDOG=1"); }
}
