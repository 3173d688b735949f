// What a peer speaks, as `peers` names it, and what we send it back.
#include <doctest/doctest.h>

#include <string>

#include "peer_modes.hpp"

using namespace chat;

TEST_SUITE("peer_modes") {
    TEST_CASE("what was heard from a peer decides its speech and our reply's wire") {
        struct Case {
            bool envelope, plain;
            const char* speaks;
            bool plain_only;
        };
        const Case cases[] = {{false, false, "plain", false},
                              {true, false, "chatd", false},
                              {false, true, "plain", true},
                              {true, true, "both", false}};
        for (const auto& c : cases) {
            CAPTURE(c.envelope);
            CAPTURE(c.plain);
            const PeerModes modes{c.envelope, c.plain};
            CHECK(to_string(modes.speech()) == c.speaks);
            CHECK(modes.plain_only() == c.plain_only);
        }
    }
}
