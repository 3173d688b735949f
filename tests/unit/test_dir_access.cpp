#include <doctest/doctest.h>

#include <string>

#include "dir_access.hpp"

using namespace chat;

TEST_SUITE("dir_access") {
    TEST_CASE("who may write into or search a directory") {
        const UserIds alice{1000, 1000, {1000, 27}};
        const UserIds nobody{65534, 65534, {}};
        const UserIds root{0, 0, {}};
        const auto w = DirAccess::write_and_search;
        const auto x = DirAccess::search;
        struct Case {
            std::string what;
            UserIds who;
            DirOwnership dir;
            DirAccess want;
            bool allowed;
        };
        const Case cases[] = {
            {"root, anywhere", root, {5, 5, 0000}, w, true},
            {"owner, 0700", alice, {1000, 0, 0700}, w, true},
            {"owner, 0500: no w", alice, {1000, 0, 0500}, w, false},
            {"owner, 0500: may search", alice, {1000, 0, 0500}, x, true},
            {"owner, 0600: w without x", alice, {1000, 0, 0600}, w, false},
            {"not the owner of a 0700", alice, {0, 0, 0700}, w, false},
            {"not the owner of a 0700: no search", alice, {0, 0, 0700}, x, false},
            {"primary group, 0770", alice, {0, 1000, 0770}, w, true},
            {"supplementary group, 0770", alice, {0, 27, 0770}, w, true},
            {"a group it is not in, 0770", alice, {0, 100, 0770}, w, false},
            {"others, 0777", alice, {0, 100, 0777}, w, true},
            {"others, 0755", alice, {0, 100, 0755}, w, false},
            {"others, 0755: may search", alice, {0, 100, 0755}, x, true},
            {"others, 0701: search only", alice, {0, 100, 0701}, x, true},
            {"sticky /tmp", alice, {0, 0, 01777}, w, true},
            // The first class that matches decides, as in the kernel.
            {"owner of a 0077: denied", alice, {1000, 0, 0077}, w, false},
            {"group of a 0707: denied", alice, {0, 27, 0707}, w, false},
            // The overflow id matches anyone unmapped: never enough alone.
            {"unknown owner, 0700", nobody, {65534, 0, 0700}, w, false},
            {"unknown owner, 0777", nobody, {65534, 0, 0777}, w, true},
            {"unknown group, 0770", nobody, {0, 65534, 0770}, w, false},
            {"unknown group, 0777", nobody, {0, 65534, 0777}, w, true},
            {"unknown owner, a known user", alice, {65534, 65534, 0770}, w, false},
            {"nobody, root's 0700", nobody, {0, 0, 0700}, w, false},
            {"nobody, in a group by id", UserIds{65534, 65534, {27}}, {0, 27, 0770}, w, true},
        };
        for (const Case& c : cases) {
            CAPTURE(c.what);
            CHECK(may_access(c.who, c.dir, c.want) == c.allowed);
        }
    }
}
