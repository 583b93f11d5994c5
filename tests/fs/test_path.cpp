// anyio::path on a real temporary directory: every operation, its errors, cancellation.

#include <anyio/anyio.hpp>

#include "support/descriptors.hpp"
#include "support/run_helpers.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using anyio_test::open_fd_count;
using anyio_test::run_guarded;
using anyio_test::temp_dir;

// The errno of the filesystem_error `body` throws (0 if none), after checking that what()
// names `named`.
template <class F>
anyio::task<int> error_of(F body, std::string named) {
    try {
        co_await body();
    } catch (const fs::filesystem_error& e) {
        EXPECT_NE(std::string(e.what()).find(named), std::string::npos) << e.what();
        co_return e.code().value();
    }
    co_return 0;
}

TEST(Path, ExistsIsFileIsDir) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-path");
        const anyio::path root(dir.path());
        std::ofstream(dir.file("f")) << "x";
        const anyio::path file = root / "f";
        const anyio::path missing = root / "missing";
        bool b = co_await file.exists();
        EXPECT_TRUE(b);
        b = co_await file.is_file();
        EXPECT_TRUE(b);
        b = co_await file.is_dir();
        EXPECT_FALSE(b);
        b = co_await root.is_dir();
        EXPECT_TRUE(b);
        b = co_await missing.exists();
        EXPECT_FALSE(b);
        b = co_await missing.is_file();
        EXPECT_FALSE(b);
        b = co_await (file / "below").exists();  // ENOTDIR: nothing there either
        EXPECT_FALSE(b);
    });
}

TEST(Path, StatReportsTypeSizeAndTime) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-path");
        const anyio::path file = anyio::path(dir.path()) / "f";
        const auto before = std::chrono::system_clock::now() - std::chrono::seconds(5);
        co_await file.write_bytes("12345");
        ::chmod(file.string().c_str(), 0640);
        const anyio::file_stat st = co_await file.stat();
        EXPECT_EQ(st.type, fs::file_type::regular);
        EXPECT_EQ(st.size, 5u);
        EXPECT_EQ(st.permissions, static_cast<fs::perms>(0640));
        EXPECT_GE(st.modified, before);
        EXPECT_LE(st.modified, std::chrono::system_clock::now() + std::chrono::seconds(5));
        EXPECT_EQ(st.links, 1u);
        const anyio::file_stat d = co_await anyio::path(dir.path()).stat();
        EXPECT_EQ(d.type, fs::file_type::directory);
        const auto missing = [&]() -> anyio::task<> {
            (void)co_await (anyio::path(dir.path()) / "nope").stat();
        };
        const int error = co_await error_of(missing, "nope");
        EXPECT_EQ(error, ENOENT);
    });
}

TEST(Path, ReadAndWriteBytesAndText) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-path");
        const anyio::path file = anyio::path(dir.path()) / "data.bin";
        std::string binary("a\0b\nc", 5);
        const std::size_t n = co_await file.write_bytes(binary);
        EXPECT_EQ(n, 5u);
        const std::string back = co_await file.read_bytes();
        EXPECT_EQ(back, binary);
        co_await file.write_text("shorter");  // truncates
        const std::string text = co_await file.read_text();
        EXPECT_EQ(text, "shorter");
        std::string big(3 * 1024 * 1024 + 7, 'q');
        co_await file.write_bytes(big);
        const std::string big_back = co_await file.read_bytes();
        EXPECT_TRUE(big_back == big);
        const std::string proc = co_await anyio::path("/proc/self/status").read_text();
        EXPECT_NE(proc.find("Name:"), std::string::npos);  // st_size 0, read to the end
        const auto missing = [&]() -> anyio::task<> {
            (void)co_await (anyio::path(dir.path()) / "nope.txt").read_text();
        };
        int error = co_await error_of(missing, "nope.txt");
        EXPECT_EQ(error, ENOENT);
        const auto into_dir = [&]() -> anyio::task<> {
            (void)co_await (anyio::path(dir.path()) / "no-dir" / "f").write_text("x");
        };
        error = co_await error_of(into_dir, "no-dir");
        EXPECT_EQ(error, ENOENT);
    });
}

TEST(Path, IterdirListsEveryEntry) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-path");
        const anyio::path root(dir.path());
        co_await (root / "a").write_text("");
        co_await (root / "b").write_text("");
        co_await (root / "sub").mkdir();
        std::vector<anyio::path> entries = co_await root.iterdir();
        std::vector<std::string> names;
        for (const anyio::path& e : entries) {
            EXPECT_EQ(e.parent(), root);
            names.push_back(e.name());
        }
        std::sort(names.begin(), names.end());
        EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "sub"}));
        entries = co_await (root / "sub").iterdir();
        EXPECT_TRUE(entries.empty());
        const auto not_dir = [&]() -> anyio::task<> { (void)co_await (root / "a").iterdir(); };
        const int error = co_await error_of(not_dir, "a");
        EXPECT_EQ(error, ENOTDIR);
    });
}

TEST(Path, MkdirWithParentsAndExistOk) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-path");
        const anyio::path root(dir.path());
        const anyio::path deep = root / "x" / "y" / "z";
        const auto without_parents = [&]() -> anyio::task<> { co_await deep.mkdir(); };
        int error = co_await error_of(without_parents, "z");
        EXPECT_EQ(error, ENOENT);
        co_await deep.mkdir(true);
        bool is_dir = co_await deep.is_dir();
        EXPECT_TRUE(is_dir);
        const auto again = [&]() -> anyio::task<> { co_await deep.mkdir(true); };
        error = co_await error_of(again, "z");
        EXPECT_EQ(error, EEXIST);
        co_await deep.mkdir(true, true);
        co_await deep.mkdir(false, true);
        co_await (root / "file").write_text("");
        const auto over_file = [&]() -> anyio::task<> {
            co_await (root / "file").mkdir(false, true);
        };
        error = co_await error_of(over_file, "file");
        EXPECT_EQ(error, EEXIST);  // exist_ok covers a directory only
    });
}

TEST(Path, UnlinkRmdirRename) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-path");
        const anyio::path root(dir.path());
        const anyio::path a = root / "a";
        co_await a.write_text("content");
        const anyio::path b = co_await a.rename(root / "b");
        EXPECT_EQ(b, root / "b");
        bool there = co_await a.exists();
        EXPECT_FALSE(there);
        const std::string moved = co_await b.read_text();
        EXPECT_EQ(moved, "content");
        const auto rename_missing = [&]() -> anyio::task<> { (void)co_await a.rename(root / "c"); };
        int error = co_await error_of(rename_missing, "a");
        EXPECT_EQ(error, ENOENT);

        co_await b.unlink();
        there = co_await b.exists();
        EXPECT_FALSE(there);
        const auto unlink_missing = [&]() -> anyio::task<> { co_await b.unlink(); };
        error = co_await error_of(unlink_missing, "b");
        EXPECT_EQ(error, ENOENT);
        co_await b.unlink(true);  // missing_ok

        const anyio::path sub = root / "sub";
        co_await sub.mkdir();
        co_await (sub / "f").write_text("");
        const auto unlink_dir = [&]() -> anyio::task<> { co_await sub.unlink(); };
        error = co_await error_of(unlink_dir, "sub");
        EXPECT_EQ(error, EISDIR);
        const auto rmdir_full = [&]() -> anyio::task<> { co_await sub.rmdir(); };
        error = co_await error_of(rmdir_full, "sub");
        EXPECT_EQ(error, ENOTEMPTY);
        co_await (sub / "f").unlink();
        co_await sub.rmdir();
        there = co_await sub.exists();
        EXPECT_FALSE(there);
    });
}

TEST(Path, CancelledBeforeItsWorkerStartsNothingHappens) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-path");
        const anyio::path file = anyio::path(dir.path()) / "never";
        anyio::cancel_scope scope;
        scope.cancel();
        co_await scope.run([&]() -> anyio::task<> { co_await file.write_text("x"); });
        EXPECT_TRUE(scope.cancelled_caught());
        const bool there = co_await file.exists();
        EXPECT_FALSE(there);
    });
}

TEST(Path, NoDescriptorIsLeftOpen) {
    run_guarded([]() -> anyio::task<> {
        temp_dir dir("anyio-path");
        const anyio::path root(dir.path());
        const std::size_t before = open_fd_count();
        for (int i = 0; i < 10; ++i) {
            co_await (root / "f").write_text("x");
            (void)co_await (root / "f").read_text();
            (void)co_await root.iterdir();
            try {
                (void)co_await (root / "missing").read_text();
            } catch (const fs::filesystem_error&) {
            }
            try {
                (void)co_await (root / "f").iterdir();
            } catch (const fs::filesystem_error&) {
            }
        }
        EXPECT_EQ(open_fd_count(), before);
    });
}

}  // namespace
