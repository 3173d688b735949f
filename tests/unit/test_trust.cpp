#include <doctest/doctest.h>

#include "trust.hpp"

using namespace chat;

namespace {
KeyDigest digest_of(std::uint8_t fill) {
    KeyDigest d{};
    d.fill(fill);
    return d;
}
}  // namespace

TEST_SUITE("trust") {
    TEST_CASE("a handshake's key against the pins, under each policy") {
        struct Row {
            AcceptNewPeers policy;
            const char* peer;
            std::uint8_t key;
            KeyVerdict expected;
        };
        const Row rows[] = {
            {AcceptNewPeers::tofu, "10.0.0.1:7890", 1, KeyVerdict::known},
            {AcceptNewPeers::tofu, "10.0.0.1:7890", 2, KeyVerdict::changed},
            {AcceptNewPeers::tofu, "10.0.0.9:7890", 3, KeyVerdict::new_peer},
            {AcceptNewPeers::tofu, "10.0.0.9:7890", 1, KeyVerdict::known},  // moved
            {AcceptNewPeers::verified, "10.0.0.1:7890", 2, KeyVerdict::changed},
            {AcceptNewPeers::verified, "10.0.0.9:7890", 3, KeyVerdict::not_trusted},
            // A first-use pin is not enough under `verified`, moved or not.
            {AcceptNewPeers::verified, "10.0.0.1:7890", 1, KeyVerdict::not_trusted},
            {AcceptNewPeers::verified, "10.0.0.9:7890", 1, KeyVerdict::not_trusted},
            // A verified pin (trust or verify) is.
            {AcceptNewPeers::verified, "10.0.0.2:7890", 4, KeyVerdict::known},
            {AcceptNewPeers::verified, "10.0.0.9:7890", 4, KeyVerdict::known},
            {AcceptNewPeers::verified, "10.0.0.2:7890", 1, KeyVerdict::changed},
            {AcceptNewPeers::tofu, "10.0.0.2:7890", 4, KeyVerdict::known},
        };
        for (const Row& row : rows) {
            PinTable pins(row.policy, PlainPeers::allow);
            pins.pin("10.0.0.1:7890", Pin{digest_of(1), std::nullopt, Trust::unverified, {}});
            pins.pin("10.0.0.2:7890", Pin{digest_of(4), std::nullopt, Trust::verified, {}});
            CAPTURE(row.peer);
            CAPTURE(int(row.key));
            CHECK(pins.verdict(row.peer, digest_of(row.key)) == row.expected);
        }
    }

    TEST_CASE("a verify confirmation against the number shown and the key's state") {
        struct Row {
            const char* given;
            const char* now;
            bool key_changed;
            ConfirmCheck expected;
        };
        const Row rows[] = {
            {"", "123", false, ConfirmCheck::ok},                 // --yes, the pinned key
            {"", "123", true, ConfirmCheck::needs_comparison},    // --yes, a changed key
            {"123", "123", false, ConfirmCheck::ok},              // answered y
            {"123", "123", true, ConfirmCheck::ok},               // y over a changed key
            {"123", "456", false, ConfirmCheck::number_changed},  // the key moved meanwhile
            {"123", "456", true, ConfirmCheck::number_changed},
        };
        for (const Row& row : rows) {
            CAPTURE(row.given);
            CAPTURE(row.key_changed);
            CHECK(check_confirm(row.given, row.now, row.key_changed) == row.expected);
        }
    }

    TEST_CASE("names round-trip and unknown names are refused") {
        CHECK(trust_named("verified") == Trust::verified);
        CHECK(trust_name(Trust::unverified) == "unverified");
        CHECK(accept_new_peers_named("tofu") == AcceptNewPeers::tofu);
        CHECK_FALSE(accept_new_peers_named("always").has_value());
        CHECK(plain_peers_named("deny") == PlainPeers::deny);
        CHECK_FALSE(plain_peers_named("").has_value());
        CHECK(key_verdict_name(KeyVerdict::changed) == "changed");
    }

    TEST_CASE("peer_of finds a key pinned under another address") {
        PinTable pins;
        pins.pin("a:1", Pin{digest_of(7), std::nullopt, Trust::verified, {}});
        REQUIRE(pins.peer_of(digest_of(7)) != nullptr);
        CHECK(*pins.peer_of(digest_of(7)) == "a:1");
        CHECK(pins.peer_of(digest_of(8)) == nullptr);
    }
}
