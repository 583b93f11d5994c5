// anyio::open_file and async_file on real files in a temporary directory, and on real FIFOs
// for the waits that must be cancellable.

#include <anyio/anyio.hpp>

#include "support/descriptors.hpp"
#include "support/run_helpers.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using anyio_test::open_fd_count;
using anyio_test::run_guarded;
using anyio_test::settle;
using anyio_test::temp_dir;

void put(const std::string& file, const std::string& content) {
    std::ofstream out(file, std::ios::binary);
    out << content;
}

std::string get(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream all;
    all << in.rdbuf();
    return all.str();
}

// Bytes that differ from one position to the next, so a lost or repeated block shows.
std::string pattern(std::size_t size) {
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        out[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
    return out;
}

TEST(File, WriteThenReadBack) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-file");
        const std::string name = dir.file("a.txt");
        anyio::async_file out = co_await anyio::open_file(name, "w");
        const std::size_t written = co_await out.write("hello\nworld\n");
        EXPECT_EQ(written, 12u);
        co_await out.aclose();
        EXPECT_EQ(get(name), "hello\nworld\n");
        anyio::async_file in = co_await anyio::open_file(name, "rb");
        const std::string all = co_await in.read_all();
        EXPECT_EQ(all, "hello\nworld\n");
        const std::string after = co_await in.read();
        EXPECT_EQ(after, "");  // end of file: "" as in AnyIO
    });
}

TEST(File, ReadReturnsAtMostMax) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-file");
        put(dir.file("f"), "abcdefgh");
        anyio::async_file f = co_await anyio::open_file(dir.file("f"));
        const std::string first = co_await f.read(3);
        EXPECT_EQ(first, "abc");
        const std::string rest = co_await f.read(100);
        EXPECT_EQ(rest, "defgh");
        const std::string end = co_await f.read(100);
        EXPECT_EQ(end, "");
    });
}

TEST(File, LinesWithATrailingNewline) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-file");
        put(dir.file("f"), "one\ntwo\n\nfour\n");
        anyio::async_file f = co_await anyio::open_file(dir.file("f"));
        std::vector<std::string> lines;
        while (std::optional<std::string> line = co_await f.next_line())
            lines.push_back(*line);
        EXPECT_EQ(lines, (std::vector<std::string>{"one\n", "two\n", "\n", "four\n"}));
        const std::string eof = co_await f.readline();
        EXPECT_EQ(eof, "");
    });
}

TEST(File, LastLineWithoutANewline) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-file");
        put(dir.file("f"), "one\ntwo");
        anyio::async_file f = co_await anyio::open_file(dir.file("f"));
        std::vector<std::string> lines;
        for (;;) {
            std::string line = co_await f.readline();
            if (line.empty()) break;
            lines.push_back(line);
        }
        EXPECT_EQ(lines, (std::vector<std::string>{"one\n", "two"}));
    });
}

TEST(File, ReadlineWithMaxCutsALongLineInPieces) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-file");
        put(dir.file("f"), "abcdefg\nxy\n");
        anyio::async_file f = co_await anyio::open_file(dir.file("f"));
        std::vector<std::string> pieces;
        for (;;) {
            std::string piece = co_await f.readline(3);
            if (piece.empty()) break;
            pieces.push_back(piece);
        }
        EXPECT_EQ(pieces, (std::vector<std::string>{"abc", "def", "g\n", "xy\n"}));
    });
}

TEST(File, LinesLongerThanTheReadAheadBlock) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-file");
        const std::string long_line = pattern(300000) + "\n";
        put(dir.file("f"), long_line + "short\n" + long_line);
        anyio::async_file f = co_await anyio::open_file(dir.file("f"));
        const std::string a = co_await f.readline();
        const std::string b = co_await f.readline();
        const std::string c = co_await f.readline();
        const std::string d = co_await f.readline();
        EXPECT_EQ(a, long_line);
        EXPECT_EQ(b, "short\n");
        EXPECT_EQ(c, long_line);
        EXPECT_EQ(d, "");
    });
}

TEST(File, SeekAndTellCountOnlyWhatWasReturned) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-file");
        put(dir.file("f"), "line1\nline2\nline3\n");
        anyio::async_file f = co_await anyio::open_file(dir.file("f"));
        const std::string line = co_await f.readline();  // reads ahead the whole file
        EXPECT_EQ(line, "line1\n");
        std::int64_t position = co_await f.tell();
        EXPECT_EQ(position, 6);
        const std::string two = co_await f.read(2);
        EXPECT_EQ(two, "li");
        position = co_await f.seek(-2, anyio::seek_from::current);
        EXPECT_EQ(position, 6);
        const std::string again = co_await f.readline();
        EXPECT_EQ(again, "line2\n");
        position = co_await f.seek(-6, anyio::seek_from::end);
        EXPECT_EQ(position, 12);
        const std::string last = co_await f.read_all();
        EXPECT_EQ(last, "line3\n");
        position = co_await f.seek(0);
        EXPECT_EQ(position, 0);
        const std::string first = co_await f.read(5);
        EXPECT_EQ(first, "line1");
    });
}

TEST(File, WriteAfterReadlineWritesWhereTheReaderIs) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-file");
        put(dir.file("f"), "line1\nline2\n");
        anyio::async_file f = co_await anyio::open_file(dir.file("f"), "r+");
        const std::string line = co_await f.readline();
        EXPECT_EQ(line, "line1\n");
        co_await f.write("LINE2");
        const std::int64_t position = co_await f.tell();
        EXPECT_EQ(position, 11);
        co_await f.flush();
        co_await f.sync();
        co_await f.aclose();
        EXPECT_EQ(get(dir.file("f")), "line1\nLINE2\n");
    });
}

TEST(File, AppendAndExclusiveModes) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-file");
        put(dir.file("f"), "start\n");
        anyio::async_file f = co_await anyio::open_file(dir.file("f"), "a");
        co_await f.write("more\n");
        co_await f.aclose();
        EXPECT_EQ(get(dir.file("f")), "start\nmore\n");

        anyio::async_file created = co_await anyio::open_file(dir.file("new"), "x");
        co_await created.write("x");
        co_await created.aclose();
        EXPECT_EQ(get(dir.file("new")), "x");
        int error = 0;
        try {
            (void)co_await anyio::open_file(dir.file("new"), "xb");
        } catch (const std::filesystem::filesystem_error& e) {
            error = e.code().value();
        }
        EXPECT_EQ(error, EEXIST);

        anyio::async_file truncated = co_await anyio::open_file(dir.file("f"), "w+");
        co_await truncated.write("w+");
        co_await truncated.seek(0);
        const std::string back = co_await truncated.read_all();
        EXPECT_EQ(back, "w+");
    });
}

TEST(File, AMissingFileNamesThePath) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-file");
        const std::string name = dir.file("missing.txt");
        bool thrown = false;
        try {
            (void)co_await anyio::open_file(name);
        } catch (const std::filesystem::filesystem_error& e) {
            thrown = true;
            EXPECT_EQ(e.code().value(), ENOENT);
            EXPECT_EQ(e.path1(), name);
            EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("open"), std::string::npos) << e.what();
        }
        EXPECT_TRUE(thrown);
    });
}

TEST(File, ADirectoryIsNotAFile) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-file");
        int error = 0;
        try {
            (void)co_await anyio::open_file(dir.path());
        } catch (const std::filesystem::filesystem_error& e) {
            error = e.code().value();
        }
        EXPECT_EQ(error, EISDIR);
    });
}

TEST(File, AnInvalidModeIsInvalidArgumentAtTheCall) {
    for (const char* mode : {"", "q", "rw", "r++", "bt", "rbb", "+", "b", "wa"}) {
        bool thrown = false;
        try {
            (void)anyio::open_file("/nonexistent-anyio", mode);  // not even awaited
        } catch (const std::invalid_argument& e) {
            thrown = true;
            EXPECT_NE(std::string(e.what()).find("mode"), std::string::npos);
        }
        EXPECT_TRUE(thrown) << '"' << mode << '"';
    }
}

TEST(File, ReadingAWriteOnlyFileAndWritingAReadOnlyOneFail) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-file");
        put(dir.file("f"), "data");
        anyio::async_file in = co_await anyio::open_file(dir.file("f"), "r");
        int error = 0;
        try {
            co_await in.write("x");
        } catch (const std::filesystem::filesystem_error& e) {
            error = e.code().value();
            EXPECT_EQ(e.path1(), dir.file("f"));
        }
        EXPECT_EQ(error, EBADF);
        anyio::async_file out = co_await anyio::open_file(dir.file("f"), "a");
        error = 0;
        try {
            (void)co_await out.read();
        } catch (const std::filesystem::filesystem_error& e) {
            error = e.code().value();
        }
        EXPECT_EQ(error, EBADF);
        EXPECT_EQ(get(dir.file("f")), "data");
    });
}

TEST(File, AClosedFileIsAClosedResource) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-file");
        put(dir.file("f"), "data");
        anyio::async_file f = co_await anyio::open_file(dir.file("f"));
        EXPECT_FALSE(f.closed());
        EXPECT_GE(f.fileno(), 0);
        co_await f.aclose();
        co_await f.aclose();  // idempotent
        EXPECT_TRUE(f.closed());
        EXPECT_EQ(f.fileno(), -1);
        int refused = 0;
        try {
            (void)co_await f.read();
        } catch (const anyio::closed_resource_error&) {
            ++refused;
        }
        try {
            (void)co_await f.tell();
        } catch (const anyio::closed_resource_error&) {
            ++refused;
        }
        anyio::async_file moved = co_await anyio::open_file(dir.file("f"));
        anyio::async_file target = std::move(moved);
        try {
            (void)co_await moved.readline();  // NOLINT(bugprone-use-after-move): on purpose
        } catch (const anyio::closed_resource_error&) {
            ++refused;
        }
        EXPECT_EQ(refused, 3);
        const std::string kept = co_await target.read_all();
        EXPECT_EQ(kept, "data");
    });
}

TEST(File, LargeFileRoundTrip) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-file");
        const std::string data = pattern(5 * 1024 * 1024 + 123);
        anyio::async_file out = co_await anyio::open_file(dir.file("big"), "wb");
        for (std::size_t at = 0; at < data.size(); at += 1024 * 1024) {
            const std::string chunk = data.substr(at, 1024 * 1024);
            co_await out.write(chunk);
        }
        co_await out.aclose();
        anyio::async_file in = co_await anyio::open_file(dir.file("big"), "rb");
        std::string back;
        for (;;) {
            const std::string chunk = co_await in.read(1024 * 1024);
            if (chunk.empty()) break;
            back += chunk;
        }
        EXPECT_TRUE(back == data) << back.size() << " bytes back of " << data.size();
        co_await in.seek(0);
        const std::string whole = co_await in.read_all();
        EXPECT_TRUE(whole == data);
    });
}

TEST(File, NoDescriptorIsLeftOpen) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-file");
        put(dir.file("f"), "a\nb\n");
        const std::size_t before = open_fd_count();
        for (int i = 0; i < 20; ++i) {
            {
                anyio::async_file dropped = co_await anyio::open_file(dir.file("f"));
                (void)co_await dropped.readline();
            }  // destroyed without aclose
            anyio::async_file closed = co_await anyio::open_file(dir.file("f"), "r+");
            co_await closed.aclose();
            anyio::async_file replaced = co_await anyio::open_file(dir.file("f"));
            replaced = co_await anyio::open_file(dir.file("f"));  // the first one is closed
            try {
                (void)co_await anyio::open_file(dir.file("f"), "x");
            } catch (const std::filesystem::filesystem_error&) {
            }
            try {
                anyio::async_file ro = co_await anyio::open_file(dir.file("f"));
                co_await ro.write("x");
            } catch (const std::filesystem::filesystem_error&) {
            }
        }
        EXPECT_EQ(open_fd_count(), before);
    });
}

// A FIFO that always has a writer (the test's O_RDWR end), so opening it for reading
// returns at once and reads wait for data.
struct fifo {
    std::string name;
    int writer = -1;
    explicit fifo(const temp_dir& dir) : name(dir.file("fifo")) {
        if (::mkfifo(name.c_str(), 0600) != 0) throw std::runtime_error("mkfifo");
        writer = ::open(name.c_str(), O_RDWR | O_CLOEXEC);
        if (writer < 0) throw std::runtime_error("open fifo");
    }
    fifo(const fifo&) = delete;
    fifo& operator=(const fifo&) = delete;
    ~fifo() { ::close(writer); }
};

TEST(File, CancellingAReadOfAFifoLosesNothing) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-file");
        fifo pipe(dir);
        anyio::async_file f = co_await anyio::open_file(pipe.name, "r");
        anyio::cancel_scope scope;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await scope.run([&]() -> anyio::task<> { (void)co_await f.readline(); });
            });
            co_await settle();
            scope.cancel();
        });
        EXPECT_TRUE(scope.cancelled_caught());
        EXPECT_EQ(::write(pipe.writer, "after\n", 6), 6);
        const std::string line = co_await f.readline();
        EXPECT_EQ(line, "after\n");
    });
}

TEST(File, CancellingReadlineKeepsThePartialLine) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-file");
        fifo pipe(dir);
        anyio::async_file f = co_await anyio::open_file(pipe.name, "r");
        EXPECT_EQ(::write(pipe.writer, "first half, ", 12), 12);
        anyio::cancel_scope scope;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await scope.run([&]() -> anyio::task<> { (void)co_await f.readline(); });
            });
            co_await settle();  // it read the first half and waits for the rest
            scope.cancel();
        });
        EXPECT_TRUE(scope.cancelled_caught());
        EXPECT_EQ(::write(pipe.writer, "second half\n", 12), 12);
        const std::string line = co_await f.readline();
        EXPECT_EQ(line, "first half, second half\n");
    });
}

TEST(File, CancellingAnOpenThatWaitsForAWriterLeaksNothing) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-file");
        const std::string name = dir.file("fifo");
        EXPECT_EQ(::mkfifo(name.c_str(), 0600), 0);
        const std::size_t before = open_fd_count();
        anyio::cancel_scope scope;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                co_await scope.run(
                    [&]() -> anyio::task<> { (void)co_await anyio::open_file(name, "r"); });
            });
            co_await settle();
            scope.cancel();
        });
        EXPECT_TRUE(scope.cancelled_caught());  // at once, though open(2) still waits
        // Let the abandoned open(2) finish: a writer's blocking open meets it. Its worker
        // then drops (closes) the descriptor it got.
        const int writer = ::open(name.c_str(), O_WRONLY | O_CLOEXEC);
        EXPECT_GE(writer, 0);
        ::close(writer);
        while (open_fd_count() != before)
            co_await anyio::sleep(1ms);  // hang guard bounds it
    });
}

TEST(File, CancelledBeforeItsWorkerStartsAReadReadsNothing) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-file");
        put(dir.file("f"), "data");
        anyio::async_file f = co_await anyio::open_file(dir.file("f"));
        anyio::to_thread::current_default_thread_limiter().set_total_tokens(1);
        std::promise<void> release;
        std::shared_future<void> released = release.get_future().share();
        anyio::cancel_scope scope;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            const auto hold_the_token = [](std::shared_future<void> gate) { gate.wait(); };
            tg.start_soon([&]() -> anyio::task<> {
                co_await anyio::to_thread::run_sync(hold_the_token, released);
            });
            co_await settle();
            tg.start_soon([&]() -> anyio::task<> {
                co_await scope.run([&]() -> anyio::task<> { (void)co_await f.read(2); });
            });
            co_await settle();
            scope.cancel();
            co_await settle();
            release.set_value();
        });
        EXPECT_TRUE(scope.cancelled_caught());
        const std::int64_t position = co_await f.tell();
        EXPECT_EQ(position, 0);
        const std::string all = co_await f.read_all();
        EXPECT_EQ(all, "data");
    });
}

TEST(File, ASecondConcurrentOperationIsBusyAndAcloseWakesAWaitingRead) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-file");
        fifo pipe(dir);
        const std::size_t before = open_fd_count();
        anyio::async_file f = co_await anyio::open_file(pipe.name, "r");
        bool busy = false;
        bool closed = false;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> {
                try {
                    (void)co_await f.read(10);
                } catch (const anyio::closed_resource_error&) {
                    closed = true;
                }
            });
            co_await settle();
            try {
                (void)co_await f.read(10);
            } catch (const anyio::busy_resource_error&) {
                busy = true;
            }
            co_await f.aclose();
        });
        EXPECT_TRUE(busy);
        EXPECT_TRUE(closed);
        EXPECT_TRUE(f.closed());
        EXPECT_EQ(open_fd_count(), before);
    });
}

TEST(File, WritingAFifoWaitsForItsReader) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-file");
        fifo pipe(dir);  // its O_RDWR end is the reader here
        anyio::async_file f = co_await anyio::open_file(pipe.name, "w");
        const std::string data = pattern(1024 * 1024);  // far more than the pipe holds
        std::string got;
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            tg.start_soon([&]() -> anyio::task<> { co_await f.write(data); });
            const auto drain = [](int fd, std::size_t size) {
                std::string out;
                std::string block(65536, '\0');
                while (out.size() < size) {
                    const ssize_t n = ::read(fd, block.data(), block.size());
                    if (n <= 0) throw std::runtime_error("fifo read");
                    out.append(block, 0, static_cast<std::size_t>(n));
                }
                return out;
            };
            got = co_await anyio::to_thread::run_sync(drain, pipe.writer, data.size());
        });
        EXPECT_TRUE(got == data);
    });
}

TEST(File, APathOpensAFile) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-file");
        const anyio::path p = anyio::path(dir.path()) / "p.txt";
        anyio::async_file f = co_await p.open("w");
        co_await f.write("via path");
        EXPECT_EQ(f.name(), p.native());
        co_await f.aclose();
        EXPECT_EQ(get(p.string()), "via path");
    });
}

}  // namespace
