// The tutorial's key-value service: the store, its line protocol, a line reader over a
// byte stream, and the configuration file. Plain C++ but for read_line; every step of the
// tutorial includes it.
#pragma once

#include <anyio/anyio.hpp>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kv {

using store = std::map<std::string, std::string, std::less<>>;

// Runs one command and returns its reply line:
//   SET key value  -> OK              GET key -> VALUE value, or NOT_FOUND
//   DEL key        -> OK, NOT_FOUND   anything else -> ERROR ...
// With read_only, SET and DEL answer ERROR read-only.
inline std::string execute(store& db, std::string_view line, bool read_only = false) {
    const std::size_t space = line.find(' ');
    const std::string_view command = line.substr(0, space);
    std::string_view rest = space == std::string_view::npos ? "" : line.substr(space + 1);
    const std::size_t second = rest.find(' ');
    const std::string_view key = rest.substr(0, second);
    const std::string_view value = second == std::string_view::npos ? "" : rest.substr(second + 1);
    if (key.empty()) return "ERROR usage: SET key value, GET key, DEL key\n";
    if (command == "GET") {
        const auto found = db.find(key);
        return found == db.end() ? "NOT_FOUND\n" : "VALUE " + found->second + "\n";
    }
    if (command != "SET" && command != "DEL") return "ERROR unknown command\n";
    if (read_only) return "ERROR read-only\n";
    if (command == "SET") {
        db.insert_or_assign(std::string(key), std::string(value));
        return "OK\n";
    }
    return db.erase(std::string(key)) == 1 ? "OK\n" : "NOT_FOUND\n";
}

// Reads newline-terminated lines from a stream.
class line_reader {
public:
    explicit line_reader(anyio::byte_stream& stream) : stream_(stream) {}

    // The next line without its newline; empty when the client has ended its side (a last
    // line without a newline is dropped). A line longer than max_line throws.
    anyio::task<std::optional<std::string>> read_line() {
        for (;;) {
            const std::size_t newline = buffer_.find('\n');
            if (newline != std::string::npos) {
                std::string line = buffer_.substr(0, newline);
                buffer_.erase(0, newline + 1);
                co_return line;
            }
            if (buffer_.size() > max_line) throw std::runtime_error("line too long");
            std::string more;
            try {
                more = co_await stream_.receive();
            } catch (const anyio::end_of_stream&) {
                co_return std::nullopt;
            }
            buffer_ += more;
        }
    }

    static constexpr std::size_t max_line = 4096;

private:
    anyio::byte_stream& stream_;
    std::string buffer_;
};

// What serve(handler, on_error) calls when a connection's handler throws: the error ends
// that connection only, and is logged here.
inline void log_connection_error(const anyio::socket_address& peer, std::exception_ptr error) {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "connection from %s: %s\n", peer.to_string().c_str(), e.what());
    }
}

// The configuration file: `name=value` lines, `#` comments.
struct config {
    bool read_only = false;                         // read_only=true|false
    std::chrono::milliseconds idle_timeout{30000};  // idle_timeout_ms=N
    std::chrono::milliseconds grace{5000};          // grace_ms=N
    std::string snapshot = "kv.snapshot";           // snapshot=PATH
};

// Reads `path`; throws std::runtime_error saying what is wrong (the caller keeps the
// configuration it had). Blocking file I/O.
inline config load_config(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    config result;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        const std::size_t equals = line.find('=');
        const std::string name = line.substr(0, equals);
        const std::string value = equals == std::string::npos ? "" : line.substr(equals + 1);
        try {
            if (name == "read_only" && (value == "true" || value == "false")) {
                result.read_only = value == "true";
            } else if (name == "idle_timeout_ms") {
                result.idle_timeout = std::chrono::milliseconds(std::stol(value));
            } else if (name == "grace_ms") {
                result.grace = std::chrono::milliseconds(std::stol(value));
            } else if (name == "snapshot" && !value.empty()) {
                result.snapshot = value;
            } else {
                throw std::invalid_argument(name);
            }
        } catch (const std::logic_error&) {
            throw std::runtime_error(path + ": bad line: " + line);
        }
    }
    return result;
}

// Writes every key and value to `path` (through a temporary file renamed over it, so a
// reader never sees half a snapshot) and returns how many it wrote. Blocking file I/O.
inline std::size_t save_snapshot(const std::string& path, const store& db) {
    const std::string temporary = path + ".tmp";
    {
        std::ofstream out(temporary, std::ios::trunc);
        for (const auto& entry : db)
            out << entry.first << ' ' << entry.second << '\n';
        out.flush();
        if (!out) throw std::runtime_error("cannot write " + temporary);
    }
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
        throw std::runtime_error("cannot rename " + temporary + " to " + path);
    }
    return db.size();
}

// main() for the servers of steps 4 to 7, `PROGRAM CONFIG [PORT]`: runs main_task(CONFIG,
// PORT) (port 0, or none: any free port). An error that ends it (a configuration file that
// does not parse at start) goes to stderr, with exit status 1.
template <class MainTask>
int main_with_config(int argc, char** argv, MainTask main_task) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s CONFIG [PORT]\n", argv[0]);
        return 2;
    }
    try {
        return anyio::run_main(main_task, std::string(argv[1]), argc > 2 ? std::atoi(argv[2]) : 0);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}

}  // namespace kv
