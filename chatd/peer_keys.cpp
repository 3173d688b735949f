#include "peer_keys.hpp"

#include <sodium.h>
#include <spdlog/logger.h>

#include <algorithm>

#include "clock.hpp"
#include "device_id.hpp"
#include "enum_names.hpp"
#include "store_worker.hpp"

namespace chat {
namespace {

constexpr std::pair<PeerStanding, std::string_view> kStandingNames[] = {
    {PeerStanding::unverified, "unverified"},
    {PeerStanding::verified, "verified"},
    {PeerStanding::key_changed, "key_changed"},
    {PeerStanding::not_trusted, "not_trusted"},
    {PeerStanding::plain, "plain"},
};

KeyDigest sha256(const std::uint8_t* data, std::size_t size) {
    KeyDigest digest{};
    crypto_hash_sha256(digest.data(), data, size);
    return digest;
}

}  // namespace

std::string_view peer_standing_name(PeerStanding standing) {
    return name_in(kStandingNames, standing);
}

KeyDigest key_digest(const KeyBytes& public_key) {
    return sha256(public_key.data(), public_key.size());
}

SafetyNumber safety_number_of(const KeyBytes& ours, const KeyBytes& theirs) {
    const auto input = safety_number_input(ours, theirs);
    const KeyDigest first = sha256(input.data(), input.size());
    return format_safety_number(first, sha256(first.data(), first.size()));
}

PeerKeys::PeerKeys(AcceptNewPeers accept, PlainPeers plain, std::shared_ptr<spdlog::logger> log)
    : table_(accept, plain), log_(std::move(log)) {
    publish();
}

void PeerKeys::load(const std::vector<PeerKeyRow>& rows) {
    for (const auto& row : rows) {
        table_.pin(row.peer, row.pin);
        rows_[row.peer] = row;
    }
    publish();
}

void PeerKeys::set_policies(AcceptNewPeers accept, PlainPeers plain) {
    std::vector<std::string> was_held = refused_;
    for (const auto& [peer, pin] : table_.pins())
        if (held(peer)) was_held.push_back(peer);
    PinTable table(accept, plain);
    for (const auto& [peer, pin] : table_.pins()) table.pin(peer, pin);
    table_ = std::move(table);
    // A peer refused under `verified` is asked again at its next handshake.
    if (accept == AcceptNewPeers::tofu) refused_.clear();
    publish();
    for (const auto& peer : was_held)
        if (!held(peer) && pin_changed_) pin_changed_(peer);
}

void PeerKeys::publish() {
    auto snapshot = std::make_shared<const PinTable>(table_);
    {
        std::lock_guard lock(published_mutex_);
        published_.swap(snapshot);
    }  // the old table is freed outside the lock
    version_.fetch_add(1, std::memory_order_release);
}

void PeerKeys::on_key_seen(const std::string& peer, const KeyBytes& public_key,
                           const KeyDigest& digest, KeyVerdict seen) {
    // `seen` came from the table the handshake's thread had; ours is newer.
    const KeyVerdict verdict = table_.verdict(peer, digest);
    if (verdict != seen) {
        log_->debug("{}: the handshake's key verdict {} is {} now", peer, key_verdict_name(seen),
                    key_verdict_name(verdict));
    }
    const Pin* pin = table_.find(peer);
    switch (verdict) {
        case KeyVerdict::known: {
            // A peer that moved keeps its pin where it is.
            if (pin == nullptr || pin->digest != digest) return;
            // A pin by fingerprint learns its public key from the first
            // handshake that proves it (verify needs it); the pinned key
            // itself ends a "changed" that is stale.
            if (pin->public_key && !pin->changed_to) return;
            const bool was_held = pin->changed_to.has_value();
            offered_.erase(peer);
            return changed(peer, Pin{digest, public_key, pin->trust, {}}, was_held);
        }
        case KeyVerdict::new_peer:
            return changed(peer, Pin{digest, public_key, Trust::unverified, {}}, true);
        case KeyVerdict::changed: {
            offered_[peer] = public_key;
            if (pin->changed_to == digest) return;
            Pin moved = *pin;
            moved.changed_to = digest;
            log_->warn(
                "{} offered a key other than the one pinned for it: nothing is sent to it "
                "or shown from it until the new key is pinned with chatcli trust",
                peer);
            return changed(peer, moved, false);
        }
        case KeyVerdict::not_trusted:
            offered_[peer] = public_key;
            if (pin == nullptr &&
                std::find(refused_.begin(), refused_.end(), peer) == refused_.end())
                refused_.push_back(peer);
            log_->warn(
                "{} offered a key that is not verified, and security.accept_new_peers is "
                "verified: refused",
                peer);
            return;
    }
}

bool PeerKeys::held(const std::string& peer) const {
    if (const Pin* pin = table_.find(peer))
        return pin->changed_to.has_value() || table_.refuses(*pin);
    return std::find(refused_.begin(), refused_.end(), peer) != refused_.end();
}

PeerStanding PeerKeys::standing(const std::string& peer) const {
    if (const Pin* pin = table_.find(peer)) {
        if (pin->changed_to) return PeerStanding::key_changed;
        if (table_.refuses(*pin)) return PeerStanding::not_trusted;
        return pin->trust == Trust::verified ? PeerStanding::verified : PeerStanding::unverified;
    }
    return held(peer) ? PeerStanding::not_trusted : PeerStanding::plain;
}

void PeerKeys::trust(const std::string& peer, const KeyDigest& digest, Saved done) {
    const Pin* pin = table_.find(peer);
    // The same key again keeps its public key; another one is learnt anew.
    std::optional<KeyBytes> public_key;
    if (pin != nullptr && pin->digest == digest) public_key = pin->public_key;
    pin_when_saved(peer, Pin{digest, public_key, Trust::verified, {}}, std::move(done));
}

std::optional<KeyBytes> PeerKeys::key_to_verify(const std::string& peer) const {
    const auto offered = offered_.find(peer);
    if (held(peer) && offered != offered_.end()) return offered->second;
    // A changed key's public key is known only from its handshake.
    const Pin* pin = table_.find(peer);
    if (pin == nullptr || pin->changed_to) return std::nullopt;
    return pin->public_key;
}

void PeerKeys::verify(const std::string& peer, const KeyBytes& public_key, Saved done) {
    pin_when_saved(peer, Pin{key_digest(public_key), public_key, Trust::verified, {}},
                   std::move(done));
}

std::string PeerKeys::held_text(const std::string& peer, const std::string& shown) const {
    const auto offered = offered_.find(peer);
    const Pin* pin = table_.find(peer);
    std::string why;
    if (pin != nullptr && pin->changed_to) {
        why = "the key of " + shown + " changed: pinned " + short_device_id(pin->digest) +
              ", now offered " + short_device_id(*pin->changed_to);
    } else if (pin != nullptr) {
        why = "the key of " + shown + " (" + short_device_id(pin->digest) +
              ") was pinned on first use, unverified, and security.accept_new_peers is verified";
    } else {
        why = shown + " offered a key nobody pinned" +
              (offered == offered_.end()
                   ? std::string()
                   : " (" + short_device_id(key_digest(offered->second)) + ")") +
              ", and security.accept_new_peers is verified";
    }
    return why +
           ". The message waits in the outbox, unsent. Compare fingerprints with its owner "
           "(chatcli id there), then run `chatcli verify " +
           shown + "` or `chatcli trust " + shown + " FINGERPRINT`";
}

PeerKeyRow PeerKeys::row_for(const std::string& peer, const Pin& pin) const {
    const auto stored = rows_.find(peer);
    PeerKeyRow row = stored != rows_.end() ? stored->second : PeerKeyRow{};
    const std::int64_t now = wall_clock_ms();
    if (row.peer.empty() || row.pin.digest != pin.digest) row.pinned_ms = now;
    if (pin.trust != Trust::verified)
        row.verified_ms = 0;
    else if (row.pin.trust != Trust::verified || row.pin.digest != pin.digest)
        row.verified_ms = now;
    row.peer = peer;
    row.pin = pin;
    return row;
}

void PeerKeys::apply(const PeerKeyRow& row, bool release) {
    table_.pin(row.peer, row.pin);
    rows_[row.peer] = row;
    publish();
    if (release && pin_changed_) pin_changed_(row.peer);
}

void PeerKeys::changed(const std::string& peer, const Pin& pin, bool release) {
    const PeerKeyRow row = row_for(peer, pin);
    apply(row, release);
    save(row, [log = log_, peer](bool durable) {
        if (!durable) log->error("the pinned key of {} could not be stored", peer);
    });
}

void PeerKeys::pin_when_saved(const std::string& peer, const Pin& pin, Saved done) {
    const PeerKeyRow row = row_for(peer, pin);
    save(row, [this, row, done](bool durable) {
        if (!durable) {
            log_->error("the pin of {} could not be stored: nothing changed", row.peer);
        } else {
            std::erase(refused_, row.peer);
            offered_.erase(row.peer);
            log_->info("{}: key {} pinned, verified", row.peer, short_device_id(row.pin.digest));
            apply(row, true);
        }
        if (done) done(durable);
    });
}

void PeerKeys::save(const PeerKeyRow& row, std::function<void(bool durable)> then) {
    if (store_ == nullptr) return then(!stopped_);  // not started: in memory only
    StoreOp op;
    op.work = [row](Store& store) { store.save_peer_key(row); };
    op.done = [post = to_control_, then](bool durable) {
        post([then, durable] { then(durable); });
    };
    if (!store_->submit(std::move(op))) then(false);
}

}  // namespace chat
