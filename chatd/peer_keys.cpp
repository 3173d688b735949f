#include "peer_keys.hpp"

#include <spdlog/logger.h>

#include <algorithm>

namespace chat {

PeerKeys::PeerKeys(AcceptNewPeers accept, PlainPeers plain, std::shared_ptr<spdlog::logger> log)
    : table_(accept, plain), log_(std::move(log)) {
    publish();
}

void PeerKeys::publish() { published_.store(std::make_shared<const PinTable>(table_)); }

void PeerKeys::on_key_seen(const std::string& peer, const KeyBytes& public_key,
                           const KeyDigest& digest, KeyVerdict verdict) {
    switch (verdict) {
        case KeyVerdict::known:
            return;
        case KeyVerdict::new_peer:
            if (table_.find(peer) != nullptr)
                return;  // pinned meanwhile: the receiver's view was older
            table_.pin(peer, Pin{digest, public_key, Trust::unverified, {}});
            break;
        case KeyVerdict::changed: {
            const Pin* pin = table_.find(peer);
            if (pin == nullptr || pin->changed_to == digest) return;
            Pin changed = *pin;
            changed.changed_to = digest;
            table_.pin(peer, changed);
            log_->warn(
                "{} offered a key other than the one pinned for it: nothing is sent to it "
                "or shown from it until the new key is pinned with chatcli trust",
                peer);
            break;
        }
        case KeyVerdict::not_trusted:
            if (std::find(refused_.begin(), refused_.end(), peer) == refused_.end())
                refused_.push_back(peer);
            log_->warn(
                "{} offered a key that is not pinned, and security.accept_new_peers is "
                "verified: refused",
                peer);
            return;
    }
    publish();
    if (pin_changed_ && verdict == KeyVerdict::new_peer) pin_changed_(peer);
}

bool PeerKeys::held(const std::string& peer) const {
    if (const Pin* pin = table_.find(peer)) return pin->changed_to.has_value();
    return std::find(refused_.begin(), refused_.end(), peer) != refused_.end();
}

}  // namespace chat
