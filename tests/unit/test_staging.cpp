// The staging tree on a real file system: publish, conflicts, and that no
// path can lead outside or through a link.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "staging.hpp"

using namespace chat;
namespace fs = std::filesystem;

namespace {

struct Dirs {
    fs::path base, download, outside;
    int download_fd;
    Dirs() {
        std::string pattern = (fs::temp_directory_path() / "chatd-staging-XXXXXX").string();
        base = ::mkdtemp(pattern.data());
        download = base / "download";
        outside = base / "outside";
        fs::create_directories(download);
        fs::create_directories(outside);
        download_fd = ::open(download.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    ~Dirs() {
        ::close(download_fd);
        fs::remove_all(base);
    }
};

void write_file(StagingTree& tree, const std::string& path, const std::string& content) {
    const UniqueFd fd = tree.open_for_write(path, true);
    REQUIRE(write_all(fd.get(), content.data(), content.size()));
}

std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

Manifest photos() {
    Manifest m;
    m.entries = {
        {EntryType::directory, "photos", 0, 0750, 1'600'000'000'000'000'000, ""},
        {EntryType::directory, "photos/empty dir", 0, 0700, 1'500'000'000'000'000'000, ""},
        {EntryType::file, "photos/a b\n.jpg", 5, 0640, 1'400'000'000'123'456'789, ""},
        {EntryType::file, "photos/empty", 0, 0600, 1'300'000'000'000'000'000, ""},
        {EntryType::symlink, "photos/latest", 0, 0, 0, "a b\n.jpg"},
        {EntryType::symlink, "photos/escape", 0, 0, 0, "../../outside"},
    };
    return m;
}

}  // namespace

TEST_SUITE("staging") {
    TEST_CASE("a tree is staged out of sight, then published with modes and mtimes") {
        Dirs d;
        const Manifest m = photos();
        StagingTree tree(d.download_fd, ".chatd-staging-1");
        const auto skipped = tree.prepare(m);
        REQUIRE(skipped.size() == 1);
        CHECK(skipped[0] == "photos/escape: link points outside 'photos'");
        write_file(tree, "photos/a b\n.jpg", "hello");
        write_file(tree, "photos/empty", "");
        CHECK_FALSE(fs::exists(d.download / "photos"));  // nothing visible yet

        const auto placed = tree.publish(m, d.download_fd);
        REQUIRE(placed.size() == 1);
        CHECK(placed[0] == std::pair<std::string, std::string>{"photos", "photos"});
        const fs::path p = d.download / "photos";
        CHECK(read(p / "a b\n.jpg") == "hello");
        CHECK(fs::is_empty(p / "empty"));
        CHECK(fs::is_directory(p / "empty dir"));
        CHECK(fs::read_symlink(p / "latest") == "a b\n.jpg");
        CHECK_FALSE(fs::exists(fs::symlink_status(p / "escape")));

        struct stat st;
        REQUIRE(::stat((p / "a b\n.jpg").c_str(), &st) == 0);
        CHECK((st.st_mode & 07777) == 0640);
        CHECK(st.st_mtim.tv_sec == 1'400'000'000);
        CHECK(st.st_mtim.tv_nsec == 123'456'789);
        REQUIRE(::stat(p.c_str(), &st) == 0);
        CHECK((st.st_mode & 07777) == 0750);
        CHECK(st.st_mtim.tv_sec == 1'600'000'000);
        CHECK(fs::is_empty(d.download / ".chatd-staging-1"));
    }

    TEST_CASE("an existing name is kept and the new tree takes a free one") {
        Dirs d;
        fs::create_directories(d.download / "photos");
        std::ofstream(d.download / "photos" / "mine") << "keep me";
        fs::create_directories(d.download / "photos (1)");
        const Manifest m = photos();
        StagingTree tree(d.download_fd, ".chatd-staging-2");
        tree.prepare(m);
        write_file(tree, "photos/a b\n.jpg", "hello");
        write_file(tree, "photos/empty", "");
        const auto placed = tree.publish(m, d.download_fd);
        CHECK(placed[0].second == "photos (2)");
        CHECK(read(d.download / "photos" / "mine") == "keep me");
        CHECK(read(d.download / "photos (2)" / "a b\n.jpg") == "hello");
    }

    TEST_CASE("nothing is written through a link or outside the root") {
        Dirs d;
        StagingTree tree(d.download_fd, ".chatd-staging-3");
        const fs::path root = d.download / ".chatd-staging-3";
        fs::create_directories(root / "dir");
        fs::create_symlink(d.outside, root / "dir" / "link");  // a planted link
        fs::create_symlink(d.outside / "victim", root / "dir" / "file");

        CHECK_THROWS_WITH_AS(tree.open_for_write("dir/link/x", true),
                             "refused path 'dir/link/x': goes through a link or a file",
                             StagingError);
        CHECK_THROWS_WITH_AS(tree.open_for_write("dir/file", true),
                             "refused path 'dir/file': goes through a link or a file",
                             StagingError);
        CHECK_THROWS_WITH_AS(tree.open_for_read("dir/link/x"),
                             "refused path 'dir/link/x': goes through a link or a file",
                             StagingError);
        CHECK_THROWS_WITH_AS(tree.open_for_write("../x", true),
                             "refused path '../x': '..' component", StagingError);
        CHECK_THROWS_WITH_AS(tree.open_for_write("/etc/passwd", true),
                             "refused path '/etc/passwd': absolute path", StagingError);
        CHECK(fs::is_empty(d.outside));
        CHECK_FALSE(fs::exists(d.outside / "victim"));
    }

    TEST_CASE("removing the tree follows no link and no renamed parent") {
        Dirs d;
        StagingTree tree(d.download_fd, ".chatd-staging-4");
        const fs::path root = d.download / ".chatd-staging-4";
        fs::create_directories(root / "dir" / "deep");
        std::ofstream(root / "dir" / "deep" / "a.txt") << "a";
        fs::create_symlink(d.outside, root / "dir" / "link");
        std::ofstream(d.outside / "keep") << "keep";
        // The download dir's path now leads to `outside`, which holds a
        // tree of the same name: a removal by path would take that one.
        fs::rename(d.download, d.base / "moved");
        fs::create_symlink(d.outside, d.download);
        fs::create_directories(d.outside / ".chatd-staging-4" / "theirs");

        CHECK(tree.remove());
        CHECK_FALSE(fs::exists(d.base / "moved" / ".chatd-staging-4"));
        CHECK(fs::exists(d.outside / "keep"));
        CHECK(fs::exists(d.outside / ".chatd-staging-4" / "theirs"));
    }

    TEST_CASE("a new file is created once, with its mode, and never through a link") {
        Dirs d;
        StagingTree tree(d.download_fd, ".chatd-staging-5");
        const fs::path root = d.download / ".chatd-staging-5";
        fs::create_directories(root / "dir");
        fs::create_symlink(d.outside, root / "dir" / "link");
        fs::create_symlink(d.outside / "victim", root / "planted");
        const mode_t saved = ::umask(022);

        UniqueFd fd = tree.create_new("dir/new", 0640);
        REQUIRE(fd.get() >= 0);
        struct stat st;
        REQUIRE(::fstat(fd.get(), &st) == 0);
        CHECK((st.st_mode & 07777) == 0640);
        fd.reset();
        errno = 0;
        CHECK(tree.create_new("dir/new", 0640).get() == -1);  // there already
        CHECK(errno == EEXIST);
        errno = 0;
        CHECK(tree.create_new("planted", 0600).get() == -1);  // a link is not followed
        CHECK(errno == EEXIST);
        CHECK_THROWS_WITH_AS(tree.create_new("dir/link/x", 0600),
                             "refused path 'dir/link/x': goes through a link or a file",
                             StagingError);
        ::umask(saved);
        CHECK(fs::is_empty(d.outside));
    }

    TEST_CASE("a resumed file keeps what it has unless truncated") {
        Dirs d;
        StagingTree tree(d.download_fd, ".chatd-staging-4");
        write_file(tree, "f", "12345");
        UniqueFd fd = tree.open_for_write("f", false);
        fd.reset();
        CHECK(read(d.download / ".chatd-staging-4" / "f") == "12345");
        fd = tree.open_for_read("f");
        CHECK(fd.get() >= 0);
        fd.reset();
        CHECK(tree.open_for_read("missing").get() == -1);
    }
}
