#pragma once
// Whose key is whose: the pinned long-term key of each peer and its trust
// (trust on first use, verified, key changed), kept in the store's
// peer_keys table. Control thread only; what other threads need (the
// receiver, deciding on each finished handshake) is published as an
// immutable PinTable they read through pins().
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "safety_number.hpp"
#include "store.hpp"
#include "trust.hpp"

namespace spdlog {
class logger;
}

namespace chat {

class StoreWorker;

// What `peers` says of a peer's key.
enum class PeerStanding {
    unverified,   // pinned on first use
    verified,     // pinned with `trust`, or confirmed with `verify`
    key_changed,  // it offered another key: held
    not_trusted,  // it offered a key nobody pinned (accept_new_peers verified): held
    plain,        // no key: unauthenticated
};
std::string_view peer_standing_name(PeerStanding standing);

// SHA-256 of a public key: what a pin and a fingerprint are made from.
KeyDigest key_digest(const KeyBytes& public_key);
// The safety number of two keys (common/safety_number.hpp), hashed here.
SafetyNumber safety_number_of(const KeyBytes& ours, const KeyBytes& theirs);

class PeerKeys {
public:
    // After a pin changed (trust, a first key pinned): messages held for
    // that peer may go.
    using PinChanged = std::function<void(const std::string& peer)>;
    // Runs a function on the control thread (the store answers on its own).
    using Post = std::function<void(std::function<void()>)>;
    // A pin the user asked for: whether it was stored (and so taken).
    using Saved = std::function<void(bool saved)>;

    PeerKeys(AcceptNewPeers accept, PlainPeers plain, std::shared_ptr<spdlog::logger> log);

    // The pins the store kept, before start(); republished.
    void load(const std::vector<PeerKeyRow>& rows);
    // From here on each change is written through the store thread, whose
    // answers come back through `to_control`. Before start() (unit tests)
    // changes are kept in memory only.
    void start(StoreWorker& store, Post to_control) {
        store_ = &store;
        to_control_ = std::move(to_control);
    }
    // After stop() a change is not stored: the user's are refused.
    void stop() {
        store_ = nullptr;
        stopped_ = true;
    }
    // A reload's security section: the pins stay, the table is republished,
    // and a peer no longer held is released.
    void set_policies(AcceptNewPeers accept, PlainPeers plain);

    // Any thread: bumped at each publish, so a thread holding sessions can
    // tell, with one load per datagram, that a pin changed under them.
    std::uint64_t version() const { return version_.load(std::memory_order_acquire); }
    // Any thread: the table as last published (never null).
    std::shared_ptr<const PinTable> pins() const {
        std::lock_guard lock(published_mutex_);
        return published_;
    }

    // From a finished handshake, posted by the thread that finished it with
    // the verdict it reached from pins(). That table may be older than ours
    // (a trust meanwhile), so the verdict is made again here: a new peer's
    // key is pinned (unverified); a changed or untrusted one is remembered
    // and held; the pinned key clears a stale "changed".
    void on_key_seen(const std::string& peer, const KeyBytes& public_key, const KeyDigest& digest,
                     KeyVerdict verdict);
    // Nothing is sent to this peer: its key changed, or it is not trusted.
    bool held(const std::string& peer) const;
    void on_pin_changed(PinChanged callback) { pin_changed_ = std::move(callback); }

    const Pin* pin(const std::string& peer) const { return table_.find(peer); }
    PeerStanding standing(const std::string& peer) const;
    // `chatcli trust`: the key with this digest is the peer's, verified (the
    // user typed it), replacing any other; its public key is learnt at the
    // next handshake that proves it. Taken once stored (`done` says if it
    // was); held messages may then go.
    void trust(const std::string& peer, const KeyDigest& digest, Saved done = {});
    // The key `chatcli verify` shows the safety number of: the one a held
    // peer offered (since this daemon started), else the pinned one if a
    // handshake proved it (not for a changed key). nullopt if none is known.
    std::optional<KeyBytes> key_to_verify(const std::string& peer) const;
    // `chatcli verify`, confirmed: this key (from key_to_verify) is the
    // peer's, verified. Taken once stored, as trust.
    void verify(const std::string& peer, const KeyBytes& public_key, Saved done = {});
    // Why nothing is sent to a held peer (`shown` as the user named it),
    // and the commands that change it.
    std::string held_text(const std::string& peer, const std::string& shown) const;

private:
    // A pin a handshake taught: taken at once (the session is up), then
    // stored; a failed write is logged.
    void changed(const std::string& peer, const Pin& pin, bool release);
    // A pin the user asked for: stored, then taken and the peer released.
    void pin_when_saved(const std::string& peer, const Pin& pin, Saved done);
    // The row `pin` makes for `peer`, with its pinned and verified times.
    PeerKeyRow row_for(const std::string& peer, const Pin& pin) const;
    // Takes `row` into the table, published; held messages told on `release`.
    void apply(const PeerKeyRow& row, bool release);
    // Writes `row` through the store thread; `then` runs on the control thread.
    void save(const PeerKeyRow& row, std::function<void(bool durable)> then);
    void publish();

    PinTable table_;  // the control thread's copy; published_ is a snapshot of it
    // A mutex, not std::atomic<shared_ptr>: libstdc++ 12 locks that with a
    // pointer bit ThreadSanitizer cannot see, so every reader was a "race".
    mutable std::mutex published_mutex_;
    std::shared_ptr<const PinTable> published_;
    std::atomic<std::uint64_t> version_{0};
    std::unordered_map<std::string, PeerKeyRow> rows_;  // the pins as stored, with their times
    std::vector<std::string> refused_;                  // peers whose offered key was not trusted
    // The key a held peer last offered, this run (a changed key's digest is
    // stored; its public key need not be).
    std::unordered_map<std::string, KeyBytes> offered_;
    PinChanged pin_changed_;
    StoreWorker* store_ = nullptr;
    Post to_control_;
    bool stopped_ = false;
    std::shared_ptr<spdlog::logger> log_;
};

}  // namespace chat
