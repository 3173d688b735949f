#include <doctest/doctest.h>

#include "offer_policy.hpp"

using namespace chat;

TEST_SUITE("offer_policy") {
    TEST_CASE("accept policies have their config names, both ways") {
        CHECK(to_string(AcceptPolicy::ask) == "ask");
        CHECK(to_string(AcceptPolicy::trusted) == "trusted");
        CHECK(to_string(AcceptPolicy::all) == "all");
        for (const auto p : {AcceptPolicy::ask, AcceptPolicy::trusted, AcceptPolicy::all})
            CHECK(accept_policy_from_string(to_string(p)) == p);
        CHECK_FALSE(accept_policy_from_string("maybe"));
        CHECK_FALSE(accept_policy_from_string("All"));
    }

    TEST_CASE("who is accepted without asking") {
        struct Row {
            const char* accept;
            std::vector<std::string> trusted;
            const char* peer;
            bool at_once;
        };
        const Row rows[] = {
            {"ask", {"10.0.0.2"}, "10.0.0.2:7890", false},
            {"all", {}, "10.0.0.9:7890", true},
            {"trusted", {}, "10.0.0.2:7890", false},
            {"trusted", {"10.0.0.2"}, "10.0.0.2:7890", true},       // host: default port
            {"trusted", {"10.0.0.2"}, "10.0.0.2:9999", true},       // host: any port
            {"trusted", {"10.0.0.2:9999"}, "10.0.0.2:7890", true},  // same host, other port
            {"trusted", {"10.0.0.3"}, "10.0.0.2:7890", false},
            {"trusted", {"bob"}, "10.0.0.5:7000", true},  // an alias
            {"trusted", {"bob"}, "10.0.0.6:7000", false},
            {"trusted", {"[::1]:7890"}, "[::1]:7890", true},
            {"trusted", {"::1"}, "[::1]:1234", true},
            {"trusted", {"no good:x:y", "10.0.0.2"}, "10.0.0.2:7890", true},  // bad ones skipped
            {"trusted", {"no good:x:y"}, "10.0.0.2:7890", false},
            {"trusted", {"10.0.0.2"}, "not an address::", false},
        };
        for (const Row& row : rows) {
            CAPTURE(row.accept);
            CAPTURE(row.peer);
            Config config;
            config.peers = {{"bob", "10.0.0.5:7000"}};
            config.transfer.accept = row.accept;
            config.transfer.trusted = row.trusted;
            CHECK(accepts_without_asking(config, row.peer) == row.at_once);
        }
    }

    TEST_CASE("offers over transfer.max_bytes are refused, saying so") {
        Config::Transfer policy;
        CHECK_FALSE(offer_refusal(policy, 1ull << 40));  // 0: no limit
        policy.max_bytes = 1000;
        CHECK_FALSE(offer_refusal(policy, 0));
        CHECK_FALSE(offer_refusal(policy, 1000));
        const auto why = offer_refusal(policy, 1001);
        REQUIRE(why);
        CHECK(*why == "the offer is 1001 B, over this peer's limit of 1000 B (transfer.max_bytes)");
    }
}
