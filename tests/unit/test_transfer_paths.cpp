// Names a hostile sender might put in a manifest, and what the receiver
// says about each.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "transfer_paths.hpp"

using namespace chat;

TEST_SUITE("transfer_paths") {
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

    TEST_CASE("symlink targets must stay inside the tree") {
        struct Case {
            std::string link, target;
            bool inside;
        };
        const Case cases[] = {
            {"photos/latest", "2024/img.jpg", true},
            {"photos/2024/up", "../index.html", true},
            {"photos/2024/root", "../..", true},
            {"photos/a", "./b", true},
            {"top", "sibling", true},
            {"photos/escape", "../../etc/passwd", false},
            {"top", "../outside", false},
            {"photos/abs", "/etc/passwd", false},
            {"photos/round", "../../photos/x", false},  // leaves, even if it comes back
            {"photos/empty", "", false},
        };
        for (const auto& c : cases) {
            CAPTURE(c.link);
            CAPTURE(c.target);
            CHECK((check_link_target(c.link, c.target) == std::nullopt) == c.inside);
        }
        CHECK(check_link_target("a", "/x") == "link to an absolute path");
        CHECK(check_link_target("a", "../x") == "link points outside the transfer");
        CHECK(check_link_target("a", "b\xff") == "link target is not valid UTF-8");
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
