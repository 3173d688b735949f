// chatcli's walk of what a user sends, on a real tree with the awkward
// cases: odd names, empty things, links in and out, a FIFO, modes.
#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "tree_walk.hpp"

using namespace chat;
using namespace chat::cli;
namespace fs = std::filesystem;

namespace {

struct TempTree {
    fs::path base;
    TempTree() {
        std::string pattern = (fs::temp_directory_path() / "chatd-walk-XXXXXX").string();
        base = ::mkdtemp(pattern.data());
        const fs::path p = base / "photos";
        fs::create_directories(p / "empty dir");
        fs::create_directories(p / "2024");
        std::ofstream(p / "2024" / "a b.jpg") << "jpeg!";
        std::ofstream(p / "line\nbreak.txt") << "nl";
        std::ofstream(p / "\u00e9t\u00e9.txt") << "unicode";
        std::ofstream(p / "empty").close();
        fs::permissions(p / "empty", fs::perms::owner_read | fs::perms::owner_write);
        fs::permissions(p / "2024" / "a b.jpg", static_cast<fs::perms>(0640));
        fs::create_symlink("2024/a b.jpg", p / "latest");
        fs::create_symlink("/etc/passwd", p / "escape");
        fs::create_symlink("b\xff", p / "odd");  // the manifest (JSON) cannot hold it
        ::mkfifo((p / "fifo").c_str(), 0600);
        std::ofstream(p / "bad\rname") << "x";
        std::ofstream(base / "notes.txt") << "top-level file";
    }
    ~TempTree() { fs::remove_all(base); }
};

const ManifestEntry* find(const Manifest& m, const std::string& path) {
    for (const auto& e : m.entries) {
        if (e.path == path) return &e;
    }
    return nullptr;
}

void close_all(const WalkResult& r) {
    for (const int fd : r.fds) ::close(fd);
}

}  // namespace

TEST_SUITE("tree_walk") {
    TEST_CASE("a tree becomes a manifest the receiver accepts, with a descriptor per file") {
        TempTree t;
        const WalkResult r =
            walk_paths({(t.base / "photos").string() + "/", (t.base / "notes.txt").string()});
        const Manifest& m = r.manifest;
        CHECK(decode_manifest(encode_manifest(m)) ==
              m);  // every entry passes the receiver's checks
        CHECK(m.top_level_names() == std::vector<std::string>{"photos", "notes.txt"});
        CHECK(r.fds.size() == m.file_count());
        CHECK(m.file_count() == 5);

        REQUIRE(find(m, "photos/2024/a b.jpg"));
        CHECK(find(m, "photos/2024/a b.jpg")->size == 5);
        CHECK(find(m, "photos/2024/a b.jpg")->mode == 0640);
        CHECK(find(m, "photos/empty")->size == 0);
        CHECK(find(m, "photos/empty")->mode == 0600);
        CHECK(find(m, "photos/empty dir")->type == EntryType::directory);
        CHECK(find(m, "photos/line\nbreak.txt"));
        CHECK(find(m, "photos/\u00e9t\u00e9.txt"));
        REQUIRE(find(m, "photos/latest"));
        CHECK(find(m, "photos/latest")->link_target == "2024/a b.jpg");
        CHECK_FALSE(find(m, "photos/escape"));
        CHECK_FALSE(find(m, "photos/fifo"));
        CHECK_FALSE(find(m, "photos/bad\rname"));

        // The descriptors are the files, in manifest order.
        std::size_t k = 0;
        for (const auto& e : m.entries) {
            if (e.type != EntryType::file) continue;
            struct stat st;
            REQUIRE(::fstat(r.fds[k++], &st) == 0);
            CHECK(static_cast<std::uint64_t>(st.st_size) == e.size);
        }
        CHECK_FALSE(find(m, "photos/odd"));
        CHECK(r.notices.size() == 4);
        std::string all;
        for (const auto& notice : r.notices) all += notice;
        CHECK(all.find("skipped 'photos/odd -> b\xff': link target is not valid UTF-8") !=
              std::string::npos);
        CHECK(all.find("skipped 'photos/escape -> /etc/passwd': link to an absolute path") !=
              std::string::npos);
        CHECK(all.find("skipped 'photos/fifo': not a regular file, directory or link") !=
              std::string::npos);
        CHECK(all.find("skipped 'photos/bad\rname': the name cannot be sent (control character in "
                       "name)") != std::string::npos);
        close_all(r);
    }

    TEST_CASE("links are sent only if they stay inside their top-level entry") {
        TempTree t;  // base/notes.txt is beside box, not in it
        const fs::path box = t.base / "box";
        fs::create_directories(box / "sub");
        std::ofstream(box / "f") << "in the box";
        fs::create_symlink("../notes.txt", box / "up1");
        fs::create_symlink("../../notes.txt", box / "sub" / "up2");
        fs::create_symlink("../f", box / "sub" / "in");
        fs::create_symlink("x/../../f", box / "sub" / "round");  // box/f, by normalising
        fs::create_symlink(".", box / "here");
        fs::create_symlink("here/../notes.txt", box / "via");  // box/notes.txt by its names only
        fs::create_symlink("box/f", t.base / "top link");
        const WalkResult r = walk_paths({box.string(), (t.base / "top link").string()});
        const Manifest& m = r.manifest;
        CHECK(decode_manifest(encode_manifest(m)) == m);
        CHECK_FALSE(find(m, "box/up1"));
        CHECK_FALSE(find(m, "box/sub/up2"));
        CHECK_FALSE(find(m, "box/via"));
        CHECK_FALSE(find(m, "top link"));
        REQUIRE(find(m, "box/sub/in"));
        CHECK(find(m, "box/sub/in")->link_target == "../f");
        CHECK(find(m, "box/sub/round"));
        CHECK(find(m, "box/here"));
        CHECK(r.notices ==
              std::vector<std::string>{
                  "skipped 'box/sub/up2 -> ../../notes.txt': link points outside 'box'",
                  "skipped 'box/up1 -> ../notes.txt': link points outside 'box'",
                  "skipped 'top link -> box/f': link points outside 'top link'",
                  "skipped 'box/via -> here/../notes.txt': link target has '..' after "
                  "another link ('box/here')",
              });
        close_all(r);
    }

    TEST_CASE("the same tree gives the same manifest") {
        TempTree t;
        const WalkResult a = walk_paths({(t.base / "photos").string()});
        const WalkResult b = walk_paths({(t.base / "photos").string()});
        CHECK(a.manifest == b.manifest);
        close_all(a);
        close_all(b);
    }

    TEST_CASE("a helper thread walks part of the tree, and the result is the same") {
        TempTree t;
        const fs::path top = t.base / "photos";
        for (const char* dir : {"a", "b", "c", "c/deeper", "d", "e"}) {
            fs::create_directories(top / dir);
            std::ofstream(top / dir / "file") << dir;
            ::mkfifo((top / dir / "fifo").c_str(), 0600);  // a notice in each half
        }
        std::ofstream(top / "z last") << "after the directories";
        const auto identities = [](const WalkResult& r) {
            std::vector<std::pair<dev_t, ino_t>> out;
            for (const int fd : r.fds) {
                struct stat st;
                REQUIRE(::fstat(fd, &st) == 0);
                out.emplace_back(st.st_dev, st.st_ino);
            }
            return out;
        };
        const std::vector<std::string> paths = {top.string(), (t.base / "notes.txt").string()};
        const WalkResult alone = walk_paths(paths, false);
        const WalkResult helped = walk_paths(paths, true);
        CHECK(helped.manifest == alone.manifest);
        CHECK(helped.notices == alone.notices);
        CHECK(identities(helped) == identities(alone));
        CHECK(alone.manifest.file_count() == alone.fds.size());
        CHECK(alone.notices.size() == 10);  // six FIFOs and the four of TempTree
        close_all(alone);
        close_all(helped);
    }

    TEST_CASE("unusable top-level paths are errors") {
        TempTree t;
        CHECK_THROWS_WITH_AS(
            walk_paths({(t.base / "missing").string()}),
            ("cannot send '" + (t.base / "missing").string() + "': No such file or directory")
                .c_str(),
            WalkError);
        fs::create_directories(t.base / "other");
        std::ofstream(t.base / "other" / "notes.txt") << "same name";
        CHECK_THROWS_WITH_AS(walk_paths({(t.base / "notes.txt").string(),
                                         (t.base / "other" / "notes.txt").string()}),
                             "two of the paths are named 'notes.txt'", WalkError);
        CHECK_THROWS_WITH_AS(walk_paths({"/"}), "refusing to send '/'", WalkError);
    }
}
