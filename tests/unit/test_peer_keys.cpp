// PeerKeys without a daemon: pins, trust, verify and what `peers` says.
#include <doctest/doctest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include <memory>
#include <string>
#include <vector>

#include "peer_keys.hpp"

using namespace chat;

namespace {

std::shared_ptr<spdlog::logger> quiet() {
    return std::make_shared<spdlog::logger>("test",
                                            std::make_shared<spdlog::sinks::null_sink_mt>());
}

KeyBytes key(std::uint8_t byte) {
    KeyBytes k{};
    k.fill(byte);
    return k;
}

// The verdict the receiver would reach, then what it posts.
void handshake(PeerKeys& keys, const std::string& peer, const KeyBytes& public_key) {
    const KeyDigest digest = key_digest(public_key);
    keys.on_key_seen(peer, public_key, digest, keys.pins()->verdict(peer, digest));
}

}  // namespace

TEST_SUITE("peer_keys") {
    TEST_CASE("a first key is pinned unverified; another one is held as changed") {
        PeerKeys keys(AcceptNewPeers::tofu, PlainPeers::allow, quiet());
        std::vector<std::string> released;
        keys.on_pin_changed([&](const std::string& peer) { released.push_back(peer); });
        CHECK(keys.standing("a:1") == PeerStanding::plain);
        handshake(keys, "a:1", key(1));
        CHECK(keys.standing("a:1") == PeerStanding::unverified);
        CHECK(released == std::vector<std::string>{"a:1"});
        CHECK(keys.pins()->find("a:1") != nullptr);
        handshake(keys, "a:1", key(2));
        CHECK(keys.standing("a:1") == PeerStanding::key_changed);
        CHECK(keys.held("a:1"));
        CHECK(keys.key_to_verify("a:1") == std::optional<KeyBytes>(key(2)));
        const std::string why = keys.held_text("a:1", "alice");
        CHECK(why.find("the key of alice changed: pinned ") == 0);
        CHECK(why.find("chatcli verify alice") != std::string::npos);
        CHECK(why.find("chatcli trust alice FINGERPRINT") != std::string::npos);
        // Verifying the offered key pins it and lets the held messages go.
        keys.verify("a:1", key(2));
        CHECK(keys.standing("a:1") == PeerStanding::verified);
        CHECK_FALSE(keys.held("a:1"));
        CHECK(keys.pins()->find("a:1")->digest == key_digest(key(2)));
        CHECK(released == std::vector<std::string>{"a:1", "a:1"});
    }

    TEST_CASE("a key pinned by fingerprint is verified and learns its public key later") {
        PeerKeys keys(AcceptNewPeers::verified, PlainPeers::allow, quiet());
        handshake(keys, "b:1", key(3));
        CHECK(keys.standing("b:1") == PeerStanding::not_trusted);
        CHECK(keys.held("b:1"));
        keys.trust("b:1", key_digest(key(3)));
        CHECK(keys.standing("b:1") == PeerStanding::verified);
        CHECK_FALSE(keys.held("b:1"));
        CHECK_FALSE(keys.key_to_verify("b:1").has_value());
        handshake(keys, "b:1", key(3));
        CHECK(keys.key_to_verify("b:1") == std::optional<KeyBytes>(key(3)));
        CHECK(keys.standing("b:1") == PeerStanding::verified);
    }

    TEST_CASE("pins load from the store and survive a change of policy") {
        PeerKeys keys(AcceptNewPeers::tofu, PlainPeers::allow, quiet());
        keys.load({{"c:1", Pin{key_digest(key(4)), key(4), Trust::verified, {}}, 1, 2}});
        CHECK(keys.standing("c:1") == PeerStanding::verified);
        keys.set_policies(AcceptNewPeers::verified, PlainPeers::deny);
        CHECK(keys.pins()->accept_new_peers() == AcceptNewPeers::verified);
        CHECK(keys.pins()->plain_peers() == PlainPeers::deny);
        CHECK(keys.pins()->find("c:1") != nullptr);
        CHECK(keys.pins()->verdict("d:1", key_digest(key(5))) == KeyVerdict::not_trusted);
    }

    TEST_CASE("a verdict made from an older table is made again on arrival") {
        // Trust during an in-flight first handshake: another key pinned meanwhile.
        PeerKeys keys(AcceptNewPeers::tofu, PlainPeers::allow, quiet());
        std::vector<std::string> released;
        keys.on_pin_changed([&](const std::string& peer) { released.push_back(peer); });
        const auto before = keys.pins();
        keys.trust("e:1", key_digest(key(6)));
        keys.on_key_seen("e:1", key(7), key_digest(key(7)),
                         before->verdict("e:1", key_digest(key(7))));
        CHECK(keys.standing("e:1") == PeerStanding::key_changed);
        CHECK(keys.held("e:1"));
        CHECK(keys.pins()->find("e:1")->digest == key_digest(key(6)));
        // ... and the very key pinned meanwhile: known, its public key learnt.
        keys.trust("f:1", key_digest(key(8)));
        keys.on_key_seen("f:1", key(8), key_digest(key(8)),
                         before->verdict("f:1", key_digest(key(8))));
        CHECK(keys.standing("f:1") == PeerStanding::verified);
        CHECK(keys.key_to_verify("f:1") == std::optional<KeyBytes>(key(8)));

        // A `changed` arriving after trust pinned that key is not held.
        handshake(keys, "g:1", key(1));
        const auto stale = keys.pins();
        keys.trust("g:1", key_digest(key(2)));
        keys.on_key_seen("g:1", key(2), key_digest(key(2)),
                         stale->verdict("g:1", key_digest(key(2))));
        CHECK(stale->verdict("g:1", key_digest(key(2))) == KeyVerdict::changed);
        CHECK(keys.standing("g:1") == PeerStanding::verified);
        CHECK_FALSE(keys.held("g:1"));
        CHECK_FALSE(keys.pins()->find("g:1")->changed_to.has_value());
        CHECK(keys.key_to_verify("g:1") == std::optional<KeyBytes>(key(2)));
    }

    TEST_CASE("the pinned key ends a stale key change; another key does not") {
        PeerKeys keys(AcceptNewPeers::tofu, PlainPeers::allow, quiet());
        std::vector<std::string> released;
        keys.on_pin_changed([&](const std::string& peer) { released.push_back(peer); });
        handshake(keys, "h:1", key(1));
        handshake(keys, "h:1", key(2));
        CHECK(keys.held("h:1"));
        handshake(keys, "h:1", key(3));  // yet another: still held, pin unchanged
        CHECK(keys.held("h:1"));
        CHECK(keys.pins()->find("h:1")->digest == key_digest(key(1)));
        released.clear();
        handshake(keys, "h:1", key(1));
        CHECK_FALSE(keys.held("h:1"));
        CHECK(keys.standing("h:1") == PeerStanding::unverified);
        CHECK(released == std::vector<std::string>{"h:1"});
    }

    TEST_CASE("under accept_new_peers verified a first-use pin is held until verified") {
        PeerKeys keys(AcceptNewPeers::tofu, PlainPeers::allow, quiet());
        std::vector<std::string> released;
        keys.on_pin_changed([&](const std::string& peer) { released.push_back(peer); });
        handshake(keys, "i:1", key(1));
        handshake(keys, "j:1", key(2));
        keys.set_policies(AcceptNewPeers::verified, PlainPeers::allow);
        CHECK(keys.held("i:1"));
        CHECK(keys.standing("i:1") == PeerStanding::not_trusted);
        CHECK(keys.key_to_verify("i:1") == std::optional<KeyBytes>(key(1)));
        CHECK(keys.held_text("i:1", "ivy").find("was pinned on first use, unverified") !=
              std::string::npos);
        handshake(keys, "i:1", key(1));
        CHECK(keys.held("i:1"));
        released.clear();
        bool saved = false;
        keys.verify("i:1", key(1), [&](bool ok) { saved = ok; });
        CHECK(saved);
        CHECK_FALSE(keys.held("i:1"));
        CHECK(keys.pins()->verdict("i:1", key_digest(key(1))) == KeyVerdict::known);
        CHECK(released == std::vector<std::string>{"i:1"});
        // Back to tofu: the first-use pin is accepted again, its messages go.
        keys.set_policies(AcceptNewPeers::tofu, PlainPeers::allow);
        CHECK_FALSE(keys.held("j:1"));
        CHECK(released == std::vector<std::string>{"i:1", "j:1"});
    }

    TEST_CASE("a pin the user asks for is taken only if it was stored") {
        PeerKeys keys(AcceptNewPeers::tofu, PlainPeers::allow, quiet());
        std::vector<bool> saved;
        keys.trust("k:1", key_digest(key(1)), [&](bool ok) { saved.push_back(ok); });
        CHECK(keys.standing("k:1") == PeerStanding::verified);
        keys.stop();  // nothing is stored from here: nothing changes either
        keys.trust("k:1", key_digest(key(2)), [&](bool ok) { saved.push_back(ok); });
        keys.verify("l:1", key(3), [&](bool ok) { saved.push_back(ok); });
        CHECK(saved == std::vector<bool>{true, false, false});
        CHECK(keys.pins()->find("k:1")->digest == key_digest(key(1)));
        CHECK(keys.pin("l:1") == nullptr);
        CHECK(keys.standing("l:1") == PeerStanding::plain);
    }

    TEST_CASE("standings have one name each") {
        CHECK(peer_standing_name(PeerStanding::unverified) == "unverified");
        CHECK(peer_standing_name(PeerStanding::verified) == "verified");
        CHECK(peer_standing_name(PeerStanding::key_changed) == "key_changed");
        CHECK(peer_standing_name(PeerStanding::not_trusted) == "not_trusted");
        CHECK(peer_standing_name(PeerStanding::plain) == "plain");
    }
}
