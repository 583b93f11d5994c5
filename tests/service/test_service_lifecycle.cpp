// anyio::service: the lifecycle (ready, reload, stop and drain) as a real notify socket
// sees it, with real signals. Each scenario signals itself, so each runs in a forked child.

#include <anyio/anyio.hpp>

#include <gtest/gtest.h>

#include "support/child_process.hpp"
#include "support/notify_socket.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <time.h>
#include <unistd.h>

using namespace std::chrono_literals;

namespace {

// A child's scenario with $NOTIFY_SOCKET pointing at a socket of its own and every
// delivery of a signal a request of its own (no 50 ms merging of self-sent signals).
template <class F>
void in_child_with_manager(F scenario) {
    const anyio_test::exit_status status = anyio_test::run_in_child([&] {
        anyio::set_signal_request_window(0ns);
        anyio_test::notify_socket manager;
        ::setenv("NOTIFY_SOCKET", manager.address().c_str(), 1);
        scenario(manager);
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

// Every message the service sent, in order (they wait in the socket's queue).
std::vector<std::string> messages(anyio_test::notify_socket& manager) {
    std::vector<std::string> texts;
    while (std::optional<anyio_test::notify_message> next = manager.receive(0ms)) {
        EXPECT_EQ(next->sender, ::getpid());
        texts.push_back(next->text);
    }
    return texts;
}

long long monotonic_usec() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<long long>(now.tv_sec) * 1000000 + now.tv_nsec / 1000;
}

// Lets the loop run until `done()` holds (each turn a checkpoint, no timing involved).
anyio::task<> until(const std::function<bool()>& done) {
    while (!done())
        co_await anyio::sleep(1ms);
}

// Runs the service's lifecycle around `body` on a new loop.
void run_service(anyio::service& service, std::function<anyio::task<>(anyio::service&)> body) {
    anyio::run([&]() -> anyio::task<> { co_await service.run(std::move(body)); });
}

// Waits for an hour (a connection that never ends, a slow startup step): only a
// cancellation ends it, and `cancelled` records that it did.
anyio::task<> wait_until_cancelled(bool& cancelled) {
    try {
        co_await anyio::sleep(1h);
    } catch (const anyio::cancelled&) {
        cancelled = true;
        throw;
    }
}

bool starts_with(const std::string& text, const std::string& prefix) {
    return text.rfind(prefix, 0) == 0;
}

TEST(ServiceLifecycle, ReadyGoesOutWhenTheProgramSaysSoAndStoppingAtTheStopSignal) {
    in_child_with_manager([](anyio_test::notify_socket& manager) {
        anyio::service service;
        bool stop_hook_ran = false;
        service.on_stop_accepting([&] { stop_hook_ran = true; });
        auto body = [&](anyio::service& s) -> anyio::task<> {
            EXPECT_EQ(s.state(), anyio::service_state::starting);
            EXPECT_FALSE(s.is_ready());
            EXPECT_FALSE(manager.receive(0ms)) << "nothing before ready()";
            s.ready("serving on :8000");
            EXPECT_TRUE(s.is_ready());
            ::kill(::getpid(), SIGTERM);
            co_await until([&] { return stop_hook_ran; });
            EXPECT_TRUE(s.is_stopping());
            EXPECT_FALSE(s.is_ready());
        };
        run_service(service, body);
        EXPECT_EQ(service.stop_signal(), SIGTERM);
        EXPECT_FALSE(service.drain_cut_short());
        const std::vector<std::string> sent = messages(manager);
        ASSERT_EQ(sent.size(), 2U);
        EXPECT_EQ(sent[0], "READY=1\nSTATUS=serving on :8000");
        EXPECT_EQ(sent[1], "STOPPING=1\nSTATUS=stopping (SIGTERM), draining");
        EXPECT_EQ(service.last_notify_error(), "");
    });
}

TEST(ServiceLifecycle, ReloadIsReloadingWithTheMonotonicTimeThenReady) {
    in_child_with_manager([](anyio_test::notify_socket& manager) {
        anyio::service service;
        int configuration = 1;
        long long before = 0;
        long long after = 0;
        service.on_reload([&]() -> anyio::task<> {
            EXPECT_EQ(service.state(), anyio::service_state::reloading);
            EXPECT_TRUE(service.is_ready()) << "the old configuration still serves";
            configuration = 2;
            co_return;
        });
        auto body = [&](anyio::service& s) -> anyio::task<> {
            s.ready("configuration 1");
            before = monotonic_usec();
            ::kill(::getpid(), SIGHUP);
            co_await until(
                [&] { return s.reloads() == 1 && s.state() == anyio::service_state::ready; });
            after = monotonic_usec();
            s.request_stop();
        };
        run_service(service, body);
        EXPECT_EQ(configuration, 2);
        const std::vector<std::string> sent = messages(manager);
        ASSERT_EQ(sent.size(), 4U);
        ASSERT_TRUE(starts_with(sent[1], "RELOADING=1\nMONOTONIC_USEC=")) << sent[1];
        const long long stamp = std::stoll(sent[1].substr(sent[1].find('=', 12) + 1));
        EXPECT_GE(stamp, before);
        EXPECT_LE(stamp, after);
        EXPECT_EQ(sent[2], "READY=1\nSTATUS=configuration 1");
        EXPECT_TRUE(starts_with(sent[3], "STOPPING=1")) << sent[3];
    });
}

TEST(ServiceLifecycle, AFailedReloadKeepsServingAndSaysWhyInTheStatus) {
    in_child_with_manager([](anyio_test::notify_socket& manager) {
        anyio::service service;
        service.on_reload([&]() -> anyio::task<> {
            throw std::runtime_error("cannot read /etc/app.conf: No such file or directory");
            co_return;
        });
        auto body = [&](anyio::service& s) -> anyio::task<> {
            s.ready();
            ::kill(::getpid(), SIGHUP);
            co_await until([&] {
                return s.failed_reloads() == 1 && s.state() == anyio::service_state::ready;
            });
            s.request_stop();
        };
        run_service(service, body);
        EXPECT_EQ(service.reloads(), 0U);
        const std::vector<std::string> sent = messages(manager);
        ASSERT_EQ(sent.size(), 4U);
        EXPECT_EQ(sent[0], "READY=1");
        EXPECT_TRUE(starts_with(sent[1], "RELOADING=1\nMONOTONIC_USEC=")) << sent[1];
        EXPECT_EQ(sent[2],
                  "READY=1\nSTATUS=reload failed, keeping the old configuration: cannot read "
                  "/etc/app.conf: No such file or directory");
    });
}

TEST(ServiceLifecycle, AReloadSignalBeforeReadyIsDoneRightAfterIt) {
    in_child_with_manager([](anyio_test::notify_socket& manager) {
        anyio::service service;
        int reloads_seen = 0;
        service.on_reload([&]() -> anyio::task<> {
            ++reloads_seen;
            co_return;
        });
        auto body = [&](anyio::service& s) -> anyio::task<> {
            // The service's receiver is open, so the signal is not lost: it is kept until
            // the program is ready.
            ::kill(::getpid(), SIGHUP);
            co_await until([&] { return s.reload_pending(); });
            co_await anyio::sleep(10ms);
            EXPECT_EQ(reloads_seen, 0) << "no reload before the program is ready";
            s.ready();
            co_await until([&] { return s.reloads() == 1; });
            s.request_stop();
        };
        run_service(service, body);
        EXPECT_EQ(reloads_seen, 1);
        const std::vector<std::string> sent = messages(manager);
        ASSERT_GE(sent.size(), 3U);
        EXPECT_EQ(sent[0], "READY=1");
        EXPECT_TRUE(starts_with(sent[1], "RELOADING=1")) << sent[1];
    });
}

TEST(ServiceLifecycle, ADrainThatMakesProgressExtendsTheStopTimeout) {
    in_child_with_manager([](anyio_test::notify_socket& manager) {
        anyio::service_options options;
        options.extend_interval = 20ms;
        options.grace_period = 1h;
        anyio::service service(options);
        auto body = [&](anyio::service& s) -> anyio::task<> {
            s.ready();
            s.request_stop();
            // Work that goes on well past several extension intervals, moving all along.
            for (int step = 0; step < 10; ++step) {
                co_await anyio::sleep(20ms);
                s.note_progress();
            }
        };
        run_service(service, body);
        EXPECT_FALSE(service.drain_cut_short());
        const std::vector<std::string> sent = messages(manager);
        int extensions = 0;
        for (const std::string& text : sent) {
            if (text == "EXTEND_TIMEOUT_USEC=40000") ++extensions;
        }
        EXPECT_GE(extensions, 1) << "no EXTEND_TIMEOUT_USEC=40000 among " << sent.size();
    });
}

TEST(ServiceLifecycle, AStuckDrainGetsNoExtensionAndIsCutAtTheGracePeriod) {
    in_child_with_manager([](anyio_test::notify_socket& manager) {
        anyio::service_options options;
        options.extend_interval = 10ms;
        options.grace_period = 100ms;
        anyio::service service(options);
        bool cleaned_up = false;
        auto body = [&](anyio::service& s) -> anyio::task<> {
            s.ready();
            s.request_stop();
            co_await wait_until_cancelled(cleaned_up);  // a connection that never ends
        };
        run_service(service, body);
        EXPECT_TRUE(cleaned_up);
        EXPECT_TRUE(service.drain_cut_short());
        for (const std::string& text : messages(manager)) {
            EXPECT_EQ(text.find("EXTEND_TIMEOUT_USEC"), std::string::npos) << text;
        }
    });
}

TEST(ServiceLifecycle, TheAcceptDelayKeepsAcceptingWhileNotReadyThenStops) {
    in_child_with_manager([](anyio_test::notify_socket&) {
        anyio::service_options options;
        options.accept_delay = 200ms;
        anyio::service service(options);
        bool stopped_accepting = false;
        service.on_stop_accepting([&] { stopped_accepting = true; });
        auto body = [&](anyio::service& s) -> anyio::task<> {
            s.ready();
            const auto signalled = anyio::current_time();
            ::kill(::getpid(), SIGTERM);
            co_await until([&] { return s.is_stopping(); });
            EXPECT_FALSE(s.is_ready()) << "a readiness probe fails from the signal on";
            EXPECT_FALSE(stopped_accepting) << "but accepting goes on for the delay";
            co_await until([&] { return stopped_accepting; });
            EXPECT_GE(anyio::current_time() - signalled, 200ms);
        };
        run_service(service, body);
        EXPECT_TRUE(stopped_accepting);
    });
}

TEST(ServiceLifecycle, ASecondStopRequestSkipsTheDelayAndTheGrace) {
    in_child_with_manager([](anyio_test::notify_socket&) {
        anyio::service_options options;
        options.accept_delay = 1h;
        options.grace_period = 1h;
        anyio::service service(options);
        bool stopped_accepting = false;
        service.on_stop_accepting([&] { stopped_accepting = true; });
        auto body = [&](anyio::service& s) -> anyio::task<> {
            s.ready();
            ::kill(::getpid(), SIGTERM);
            co_await until([&] { return s.is_stopping(); });
            ::kill(::getpid(), SIGTERM);
            co_await anyio::sleep(1h);
        };
        run_service(service, body);
        EXPECT_TRUE(service.drain_cut_short());
        EXPECT_TRUE(stopped_accepting) << "the listeners still close";
    });
}

TEST(ServiceLifecycle, AStopBeforeReadyCancelsTheStartupAtOnce) {
    in_child_with_manager([](anyio_test::notify_socket& manager) {
        anyio::service_options options;
        options.accept_delay = 1h;
        options.grace_period = 1h;
        anyio::service service(options);
        bool startup_cancelled = false;
        auto body = [&](anyio::service&) -> anyio::task<> {
            ::kill(::getpid(), SIGTERM);
            co_await wait_until_cancelled(startup_cancelled);  // a slow startup step
        };
        run_service(service, body);
        EXPECT_TRUE(startup_cancelled);
        EXPECT_TRUE(service.drain_cut_short());
        const std::vector<std::string> sent = messages(manager);
        ASSERT_EQ(sent.size(), 1U);
        EXPECT_TRUE(starts_with(sent[0], "STOPPING=1")) << sent[0];
    });
}

TEST(ServiceLifecycle, ABodyThatFailsReportsStatusAndErrno) {
    in_child_with_manager([](anyio_test::notify_socket& manager) {
        anyio::service service;
        auto body = [&](anyio::service&) -> anyio::task<> {
            throw std::system_error(EADDRINUSE, std::generic_category(), "bind 0.0.0.0:80");
            co_return;
        };
        EXPECT_THROW(run_service(service, body), std::system_error);
        const std::vector<std::string> sent = messages(manager);
        ASSERT_EQ(sent.size(), 1U);
        EXPECT_TRUE(starts_with(sent[0], "STATUS=failed: bind 0.0.0.0:80")) << sent[0];
        EXPECT_NE(sent[0].find("\nERRNO=" + std::to_string(EADDRINUSE)), std::string::npos)
            << sent[0];
    });
}

TEST(ServiceLifecycle, TheWatchdogPingsWhenTheManagerAsks) {
    in_child_with_manager([](anyio_test::notify_socket& manager) {
        ::setenv("WATCHDOG_USEC", "20000", 1);
        anyio::service service;
        auto body = [&](anyio::service& s) -> anyio::task<> {
            s.ready();
            co_await anyio::sleep(100ms);
            s.request_stop();
        };
        run_service(service, body);
        int pings = 0;
        for (const std::string& text : messages(manager))
            pings += text == "WATCHDOG=1" ? 1 : 0;
        EXPECT_GE(pings, 2);
    });
}

TEST(ServiceLifecycle, AManagerThatWentAwayDoesNotStopTheService) {
    in_child_with_manager([](anyio_test::notify_socket& manager) {
        anyio::service service;
        bool drained = false;
        auto body = [&](anyio::service& s) -> anyio::task<> {
            s.ready();
            manager.close();
            ::kill(::getpid(), SIGTERM);
            co_await until([&] { return s.is_stopping(); });
            drained = true;
        };
        run_service(service, body);
        EXPECT_TRUE(drained);
        EXPECT_NE(service.last_notify_error(), "");
    });
}

TEST(ServiceLifecycle, WithoutAManagerEverythingStillWorks) {
    const anyio_test::exit_status status = anyio_test::run_in_child([] {
        ::unsetenv("NOTIFY_SOCKET");
        anyio::set_signal_request_window(0ns);
        anyio::service service;
        bool reloaded = false;
        service.on_reload([&]() -> anyio::task<> {
            reloaded = true;
            co_return;
        });
        auto body = [&](anyio::service& s) -> anyio::task<> {
            s.ready("up");
            ::kill(::getpid(), SIGHUP);
            co_await until([&] { return s.reloads() == 1; });
            ::kill(::getpid(), SIGINT);
            co_await until([&] { return s.is_stopping(); });
        };
        run_service(service, body);
        EXPECT_TRUE(reloaded);
        EXPECT_EQ(service.stop_signal(), SIGINT);
        EXPECT_EQ(service.last_notify_error(), "");
    });
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(ServiceLifecycle, BadOptionsAreRefusedUpFront) {
    anyio::service_options negative;
    negative.grace_period = -1ms;
    EXPECT_THROW(anyio::service{negative}, std::invalid_argument);
    anyio::service_options both;
    both.reload_signals = {SIGTERM};
    EXPECT_THROW(anyio::service{both}, std::invalid_argument);
    anyio::service_options uncatchable;
    uncatchable.stop_signals = {SIGKILL};
    EXPECT_THROW(anyio::service{uncatchable}, std::invalid_argument);
}

}  // namespace
