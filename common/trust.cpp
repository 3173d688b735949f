#include "trust.hpp"

#include <utility>

#include "enum_names.hpp"

namespace chat {

namespace {

constexpr std::pair<Trust, std::string_view> kTrustNames[] = {
    {Trust::unverified, "unverified"},
    {Trust::verified, "verified"},
};
constexpr std::pair<AcceptNewPeers, std::string_view> kAcceptNames[] = {
    {AcceptNewPeers::tofu, "tofu"},
    {AcceptNewPeers::verified, "verified"},
};
constexpr std::pair<PlainPeers, std::string_view> kPlainNames[] = {
    {PlainPeers::allow, "allow"},
    {PlainPeers::deny, "deny"},
};
constexpr std::pair<KeyVerdict, std::string_view> kVerdictNames[] = {
    {KeyVerdict::known, "known"},
    {KeyVerdict::new_peer, "new_peer"},
    {KeyVerdict::changed, "changed"},
    {KeyVerdict::not_trusted, "not_trusted"},
};

}  // namespace

std::string_view trust_name(Trust trust) { return name_in(kTrustNames, trust); }
std::optional<Trust> trust_named(std::string_view name) { return value_named(kTrustNames, name); }
std::string_view accept_new_peers_name(AcceptNewPeers policy) {
    return name_in(kAcceptNames, policy);
}
std::optional<AcceptNewPeers> accept_new_peers_named(std::string_view name) {
    return value_named(kAcceptNames, name);
}
std::string_view plain_peers_name(PlainPeers policy) { return name_in(kPlainNames, policy); }
std::optional<PlainPeers> plain_peers_named(std::string_view name) {
    return value_named(kPlainNames, name);
}
std::string_view key_verdict_name(KeyVerdict verdict) { return name_in(kVerdictNames, verdict); }

const Pin* PinTable::find(const std::string& peer) const {
    const auto found = pins_.find(peer);
    return found == pins_.end() ? nullptr : &found->second;
}

const std::string* PinTable::peer_of(const KeyDigest& digest) const {
    for (const auto& [peer, pin] : pins_)
        if (pin.digest == digest) return &peer;
    return nullptr;
}

bool PinTable::refuses(const Pin& pin) const {
    return accept_ == AcceptNewPeers::verified && pin.trust != Trust::verified;
}

KeyVerdict PinTable::verdict(const std::string& peer, const KeyDigest& digest) const {
    if (const Pin* pin = find(peer)) {
        if (pin->digest != digest) return KeyVerdict::changed;
        return refuses(*pin) ? KeyVerdict::not_trusted : KeyVerdict::known;
    }
    // A key pinned for another address is that peer, moved: known.
    if (const std::string* moved = peer_of(digest))
        return refuses(*find(*moved)) ? KeyVerdict::not_trusted : KeyVerdict::known;
    return accept_ == AcceptNewPeers::tofu ? KeyVerdict::new_peer : KeyVerdict::not_trusted;
}

ConfirmCheck check_confirm(std::string_view given, std::string_view now, bool key_changed) {
    if (given.empty()) return key_changed ? ConfirmCheck::needs_comparison : ConfirmCheck::ok;
    return given == now ? ConfirmCheck::ok : ConfirmCheck::number_changed;
}

}  // namespace chat
