#pragma once
// Test support: an environment variable set (or unset) for a scope.

#include <cstdlib>
#include <optional>
#include <string>

namespace anyio_test {

// Sets (or, with nullopt, unsets) an environment variable for the scope and restores what
// was there. Only while no other thread runs: setenv races with getenv.
class scoped_env {
public:
    scoped_env(const char* name, const std::optional<std::string>& value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        set(value);
    }
    scoped_env(const scoped_env&) = delete;
    scoped_env& operator=(const scoped_env&) = delete;
    ~scoped_env() { set(old_); }

private:
    void set(const std::optional<std::string>& value) {
        if (value) {
            ::setenv(name_.c_str(), value->c_str(), 1);
        } else {
            ::unsetenv(name_.c_str());
        }
    }

    std::string name_;
    std::optional<std::string> old_;
};

}  // namespace anyio_test
