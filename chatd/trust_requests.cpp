#include "trust_requests.hpp"

#include <nlohmann/json.hpp>

#include "address.hpp"
#include "device_id.hpp"
#include "identity.hpp"
#include "peer_directory.hpp"
#include "peer_keys.hpp"

namespace chat {
namespace {

void finish(const std::shared_ptr<ReplySink>& reply, const std::string& line) {
    reply->send_line(line);
    reply->finish();
}

// Why there is no safety number to show for `shown` yet.
std::string no_key_text(const PeerKeys& keys, const std::string& peer, const std::string& shown) {
    if (keys.held(peer)) {
        return "the key " + shown +
               " offered is not known since chatd started: wait for its next message, "
               "or pin its fingerprint with chatcli trust";
    }
    if (keys.pin(peer) != nullptr) {
        return "the key of " + shown +
               " was pinned by its fingerprint and no handshake has proved it yet: send it a "
               "message first";
    }
    return "no key known for " + shown +
           " yet: send it a message first, or pin its fingerprint with chatcli trust";
}

// The reply to a pin the user asked for, once the store said whether it
// was written.
PeerKeys::Saved reply_when_saved(std::shared_ptr<ReplySink> reply, nlohmann::json answer,
                                 PeerKeys& keys) {
    return [reply = std::move(reply), answer = std::move(answer), &keys](bool saved) mutable {
        if (!saved) {
            return finish(reply, error_reply(codes::failed,
                                             "could not save the pin: the state store refused "
                                             "the write (chatd's log says why); nothing changed"));
        }
        answer["trust"] = peer_standing_name(keys.standing(answer.value("peer", "")));
        finish(reply, reply_line(answer));
    };
}

// Why a confirmation is refused; empty if it is not.
std::string confirm_refusal(ConfirmCheck check, const std::string& shown) {
    switch (check) {
        case ConfirmCheck::ok:
            return "";
        case ConfirmCheck::number_changed:
            return "the safety number of " + shown +
                   " changed since it was shown (its key changed): nothing was verified; run "
                   "chatcli verify " +
                   shown + " again";
        case ConfirmCheck::needs_comparison:
            return "the key of " + shown +
                   " changed: --yes does not accept a changed key unseen; nothing was verified. "
                   "Compare its fingerprint with its owner (chatcli id there), then run chatcli "
                   "trust " +
                   shown + " FINGERPRINT, or chatcli verify " + shown + " on a terminal";
    }
    return "";
}

constexpr const char* kStopping = "chatd is stopping";

}  // namespace

void TrustRequests::verify(VerifyRequest request, std::shared_ptr<ReplySink> reply) {
    const std::string shown = request.peer;
    peers_.resolve_or_reject(shown, reply, [this, request, reply, shown](const Endpoint& to) {
        if (identity_ == nullptr) return finish(reply, error_reply(codes::failed, kStopping));
        const std::string peer = endpoint_key(to);
        const auto theirs = keys_.key_to_verify(peer);
        if (!theirs)
            return finish(reply, error_reply(codes::failed, no_key_text(keys_, peer, shown)));
        const KeyBytes& ours = identity_->key_pair().public_key;
        const SafetyNumber number = safety_number_of(ours, *theirs);
        const KeyDigest digest = key_digest(*theirs);
        nlohmann::json answer = {{"ok", true},
                                 {"peer", peer},
                                 {"fingerprint", identity_->fingerprint()},
                                 {"peer_fingerprint", format_device_id(digest)},
                                 {"safety_number", number.digits},
                                 {"short_code", number.short_code}};
        const Pin* pin = keys_.pin(peer);
        const bool key_changed = pin != nullptr && pin->digest != digest;
        if (key_changed) answer["pinned_fingerprint"] = format_device_id(pin->digest);
        if (!request.confirm) {
            answer["trust"] = peer_standing_name(keys_.standing(peer));
            return finish(reply, reply_line(answer));
        }
        const auto check = check_confirm(request.safety_number, number.digits, key_changed);
        if (check != ConfirmCheck::ok)
            return finish(reply, error_reply(codes::key_changed, confirm_refusal(check, shown)));
        keys_.verify(peer, *theirs, reply_when_saved(reply, std::move(answer), keys_));
    });
}

void TrustRequests::trust(TrustRequest request, std::shared_ptr<ReplySink> reply) {
    const ParsedDeviceId parsed = parse_device_id(request.fingerprint);
    if (!parsed.digest) {
        return finish(
            reply, error_reply(codes::bad_request, "invalid fingerprint '" + request.fingerprint +
                                                       "': " + parsed.error));
    }
    const KeyDigest digest = *parsed.digest;
    // Our own key is not needed: the peer's is typed in.
    peers_.resolve_or_reject(request.peer, reply, [this, reply, digest](const Endpoint& to) {
        const std::string peer = endpoint_key(to);
        keys_.trust(peer, digest,
                    reply_when_saved(reply,
                                     {{"ok", true},
                                      {"peer", peer},
                                      {"fingerprint", format_device_id(digest)},
                                      {"short", short_device_id(digest)}},
                                     keys_));
    });
}

}  // namespace chat
