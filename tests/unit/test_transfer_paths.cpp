// Names a hostile sender might put in a manifest, and what the receiver
// says about each.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "transfer_paths.hpp"

using namespace chat;

TEST_SUITE("transfer_paths") {
    TEST_CASE("a transfer's staging directory is named for it, hidden") {
        CHECK(staging_name("0123abcd") == ".chatd-staging-0123abcd");
        CHECK(staging_name("") == ".chatd-staging-");
    }

    TEST_CASE("acceptable relative paths, odd names included") {
        const std::string ok[] = {
            "photos",
            "photos/2024/img 001.jpg",
            "notes.txt",
            "\u00e9t\u00e9/\u65e5\u672c\u8a9e.txt",
            "line\nbreak",
            ".hidden",
            "..dots..",
            "a/b/c/d/e/f",
            std::string(255, 'n'),
            "x/" + std::string(255, 'n'),
        };
        for (const auto& path : ok) {
            CAPTURE(path);
            CHECK(check_relative_path(path) == std::nullopt);
        }
    }

    TEST_CASE("hostile paths are refused with the reason") {
        struct Case {
            std::string path, why;
        };
        const Case cases[] = {
            {"", "empty path"},
            {"/etc/passwd", "absolute path"},
            {"../x", "'..' component"},
            {"a/../../x", "'..' component"},
            {"a/..", "'..' component"},
            {"./a", "'.' component"},
            {"a//b", "empty name component"},
            {"a/", "empty name component"},
            {std::string("a\0b", 3), "NUL byte in name"},
            {"a\rb", "control character in name"},
            {"esc\x1b[2J", "control character in name"},
            {"del\x7f", "control character in name"},
            {"bad\xff", "not valid UTF-8"},
            {std::string(256, 'n'), "name longer than 255 bytes"},
            {std::string(4096, 'a'), "path longer than 4095 bytes"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.path);
            CHECK(check_relative_path(c.path) == c.why);
        }
    }

    TEST_CASE("symlink targets must stay inside their top-level entry") {
        struct Case {
            std::string link, target;
            std::optional<std::string> why;
        };
        const std::string out_photos = "link points outside 'photos'";
        const std::string out_box = "link points outside 'box'";
        const Case cases[] = {
            {"photos/latest", "2024/img.jpg", std::nullopt},
            {"photos/2024/up", "../index.html", std::nullopt},
            {"photos/2024/top", "..", std::nullopt},  // the entry itself is inside
            {"photos/self", ".", std::nullopt},
            {"photos/a", "./b", std::nullopt},
            {"photos/a", "b//c/", std::nullopt},
            {"photos/2024/root", "../..", out_photos},  // where the entry sits: not its own
            {"photos/escape", "../../etc/passwd", out_photos},
            {"photos/round", "../photos/x", out_photos},  // leaves, even if it comes back
            {"photos/abs", "/etc/passwd", "link to an absolute path"},
            {"photos/empty", "", "empty link target"},
            // issue 18: each pointed at incoming/notes.txt, another transfer's
            {"box/up1", "../notes.txt", out_box},
            {"box/sub/up2", "../../notes.txt", out_box},
            // judged by normalising, whatever comes first
            {"box/sub/l", "a/../../x", std::nullopt},
            {"box/l", "a/../../x", out_box},
            {"box/l", "a/../x", std::nullopt},
            {"box/sub/l", "a/b/../../../..", out_box},
            {"box/sub/l", "./../sub/../.././x", out_box},
            // a link at the top level is all of its entry: anything else is outside
            {"top", "sibling", "link points outside 'top'"},
            {"top", ".", "link points outside 'top'"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.link);
            CAPTURE(c.target);
            CHECK(check_link_target(c.link, c.target) == c.why);
        }
        CHECK(check_link_target("a/l", "b\xff") == "link target is not valid UTF-8");
    }

    TEST_CASE("a '..' after another link of the transfer is refused") {
        // box/a -> . and box/l -> a/../x: by the names box/x, but the kernel
        // takes a to box, then '..' to where box sits.
        const std::set<std::string> links = {"box/a", "box/sub/b"};
        const auto is_link = [&](std::string_view p) { return links.contains(std::string(p)); };
        struct Case {
            std::string link, target;
            std::optional<std::string> why;
        };
        const Case cases[] = {
            {"box/l", "a/../x", "link target has '..' after another link ('box/a')"},
            {"box/l", "a/c/../x", "link target has '..' after another link ('box/a')"},
            {"box/l", "sub/b/../x", "link target has '..' after another link ('box/sub/b')"},
            {"box/sub/l", "../a/..", "link target has '..' after another link ('box/a')"},
            {"box/l", "a", std::nullopt},
            {"box/l", "a/x/y", std::nullopt},
            {"box/l", "sub/../a/x", std::nullopt},  // sub is a directory
            {"box/sub/l", "../x/../a", std::nullopt},
        };
        for (const auto& c : cases) {
            CAPTURE(c.link);
            CAPTURE(c.target);
            CHECK(check_link_target(c.link, c.target, is_link) == c.why);
        }
        CHECK(check_link_target("box/l", "a/../x") ==
              std::nullopt);  // without the manifest's links
    }

    TEST_CASE("an existing name is never reused") {
        std::set<std::string> existing = {"photos", "photos (1)", "a.txt", ".bashrc",
                                          "archive.tar.gz"};
        const auto taken = [&](const std::string& n) { return existing.contains(n); };
        CHECK(unused_name("new", taken) == "new");
        CHECK(unused_name("photos", taken) == "photos (2)");
        CHECK(unused_name("a.txt", taken) == "a (1).txt");
        CHECK(unused_name(".bashrc", taken) == ".bashrc (1)");
        CHECK(unused_name("archive.tar.gz", taken) == "archive.tar (1).gz");
    }
}
