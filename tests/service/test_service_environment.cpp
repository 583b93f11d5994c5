// A child's environment: the service manager's variables (NOTIFY_SOCKET, LISTEN_*,
// WATCHDOG_*) stay with this process unless asked for; an explicit env is passed as given.
// Real children (/usr/bin/env) print what they got; the variables are set in a forked child
// of the test, so the runner's environment is not changed.

#include <anyio/anyio.hpp>

#include "process/process_helpers.hpp"
#include "support/child_process.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

extern char** environ;

namespace {

using anyio_test::cmd;
using anyio_test::run_guarded;

const std::vector<std::pair<std::string, std::string>> service_variables = {
    {"NOTIFY_SOCKET", "/run/systemd/notify"},
    {"LISTEN_PID", "1234"},
    {"LISTEN_FDS", "2"},
    {"LISTEN_FDNAMES", "web:admin"},
    {"WATCHDOG_USEC", "30000000"},
    {"WATCHDOG_PID", "1234"},
};

void set_service_variables() {
    for (const auto& [name, value] : service_variables)
        ::setenv(name.c_str(), value.c_str(), 1);
}

// This process's environment as env(1) prints it, leaving out the entries `drop` says.
std::string printed_environment(const std::function<bool(const std::string&)>& drop) {
    std::string text;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        const std::string line = *entry;
        if (!drop(line)) text += line + "\n";
    }
    return text;
}

bool is_service_entry(const std::string& entry) {
    for (const auto& variable : service_variables) {
        if (entry.rfind(variable.first + "=", 0) == 0) return true;
    }
    return false;
}

// What /usr/bin/env prints when started by open_process with `options` (stdout read to
// the end through the process's pipe).
std::string child_environment(anyio::process_options options) {
    std::string printed;
    run_guarded([&]() -> anyio::task<> {
        anyio::process env = co_await anyio::open_process(cmd("/usr/bin/env"), options);
        for (;;) {
            std::string chunk;
            try {
                chunk = co_await env.stdout_stream().receive();
            } catch (const anyio::end_of_stream&) {
                break;
            }
            printed += chunk;
        }
        const int code = co_await env.wait();
        EXPECT_EQ(code, 0);
    });
    return printed;
}

void expect_in_child(const std::function<void()>& body) {
    const anyio_test::exit_status status = anyio_test::run_in_child(body);
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(ServiceEnvironment, ServiceVariablesStayWithThisProcessByDefault) {
    expect_in_child([] {
        ::setenv("ANYIO_BEFORE", "kept", 1);
        set_service_variables();
        // Names that merely begin like one of them are someone else's.
        ::setenv("NOTIFY_SOCKETS", "kept", 1);
        ::setenv("LISTEN_FDS_EXTRA", "kept", 1);
        ::setenv("XWATCHDOG_USEC", "kept", 1);
        ::setenv("ANYIO_AFTER", "kept too", 1);
        const std::string printed = child_environment({});
        EXPECT_EQ(printed, printed_environment(is_service_entry)) << "the rest, in order";
        for (const auto& variable : service_variables) {
            EXPECT_EQ(("\n" + printed).find("\n" + variable.first + "="), std::string::npos)
                << variable.first;
        }
        EXPECT_NE(printed.find("\nNOTIFY_SOCKETS=kept\n"), std::string::npos) << printed;
        EXPECT_NE(printed.find("\nANYIO_AFTER=kept too\n"), std::string::npos) << printed;
        // This process keeps them.
        EXPECT_STREQ(std::getenv("NOTIFY_SOCKET"), "/run/systemd/notify");
        EXPECT_STREQ(std::getenv("WATCHDOG_USEC"), "30000000");
    });
}

TEST(ServiceEnvironment, OnlySomeOfThemSet) {
    expect_in_child([] {
        ::setenv("WATCHDOG_PID", "1", 1);
        const std::string printed = child_environment({});
        EXPECT_EQ(printed.find("WATCHDOG_PID="), std::string::npos) << printed;
        EXPECT_EQ(printed, printed_environment(is_service_entry));
    });
}

TEST(ServiceEnvironment, WithoutServiceVariablesTheEnvironmentIsPassedWhole) {
    expect_in_child([] {
        for (const auto& variable : service_variables)
            ::unsetenv(variable.first.c_str());
        ::setenv("ANYIO_PLAIN", "1", 1);
        const std::string printed = child_environment({});
        EXPECT_EQ(printed, printed_environment([](const std::string&) { return false; }));
    });
}

TEST(ServiceEnvironment, InheritServiceEnvironmentPassesThemOn) {
    expect_in_child([] {
        set_service_variables();
        anyio::process_options options;
        options.inherit_service_environment = true;
        const std::string printed = child_environment(options);
        EXPECT_EQ(printed, printed_environment([](const std::string&) { return false; }));
        for (const auto& [name, value] : service_variables) {
            EXPECT_NE(printed.find(name + "=" + value + "\n"), std::string::npos)
                << name << " in " << printed;
        }
    });
}

TEST(ServiceEnvironment, AnExplicitEnvIsPassedAsGiven) {
    expect_in_child([] {
        set_service_variables();
        for (const bool inherit : {false, true}) {
            anyio::process_options options;
            options.inherit_service_environment = inherit;
            options.env = std::map<std::string, std::string>{
                {"LISTEN_FDS", "1"}, {"NOTIFY_SOCKET", "@given"}, {"ONLY", "this"}};
            EXPECT_EQ(child_environment(options),
                      "LISTEN_FDS=1\nNOTIFY_SOCKET=@given\nONLY=this\n");
        }
    });
}

TEST(ServiceEnvironment, RunProcessLeavesThemOutToo) {
    expect_in_child([] {
        set_service_variables();
        run_guarded([]() -> anyio::task<> {
            const anyio::completed_process env = co_await anyio::run_process(cmd("/usr/bin/env"));
            EXPECT_EQ(env.stdout_data, printed_environment(is_service_entry));
            anyio::process_options inherit;
            inherit.inherit_service_environment = true;
            const anyio::completed_process all = co_await anyio::run_process(
                cmd("/usr/bin/printenv", "NOTIFY_SOCKET"), std::string(), true, std::move(inherit));
            EXPECT_EQ(all.stdout_data, "/run/systemd/notify\n");
        });
    });
}

}  // namespace
