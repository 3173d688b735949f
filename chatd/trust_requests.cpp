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

}  // namespace

void TrustRequests::verify(VerifyRequest request, std::shared_ptr<ReplySink> reply) {
    const std::string shown = request.peer;
    peers_.resolve_or_reject(shown, reply, [this, request, reply, shown](const Endpoint& to) {
        if (identity_ == nullptr) return;
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
        if (const Pin* pin = keys_.pin(peer); pin != nullptr && pin->digest != digest)
            answer["pinned_fingerprint"] = format_device_id(pin->digest);
        if (request.confirm && !request.safety_number.empty() &&
            request.safety_number != number.digits) {
            return finish(reply, error_reply(codes::key_changed,
                                             "the safety number of " + shown +
                                                 " changed since it was shown (its key changed): "
                                                 "nothing was verified; run chatcli verify " +
                                                 shown + " again"));
        }
        if (request.confirm) keys_.verify(peer, *theirs);
        answer["trust"] = peer_standing_name(keys_.standing(peer));
        finish(reply, reply_line(answer));
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
    peers_.resolve_or_reject(request.peer, reply, [this, reply, digest](const Endpoint& to) {
        if (identity_ == nullptr) return;
        const std::string peer = endpoint_key(to);
        keys_.trust(peer, digest);
        finish(reply, reply_line({{"ok", true},
                                  {"peer", peer},
                                  {"fingerprint", format_device_id(digest)},
                                  {"short", short_device_id(digest)},
                                  {"trust", peer_standing_name(keys_.standing(peer))}}));
    });
}

}  // namespace chat
