#pragma once
// Whose key is whose: the pinned long-term key of each peer and its trust
// (trust on first use, verified, key changed). Control thread only; what
// other threads need (the receiver, deciding on each finished handshake)
// is published as an immutable PinTable they read through pins().
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "trust.hpp"

namespace spdlog {
class logger;
}

namespace chat {

class PeerKeys {
public:
    // After a pin changed (trust, a first key pinned): messages held for
    // that peer may go.
    using PinChanged = std::function<void(const std::string& peer)>;

    PeerKeys(AcceptNewPeers accept, PlainPeers plain, std::shared_ptr<spdlog::logger> log);

    // Any thread: the table as last published (never null).
    std::shared_ptr<const PinTable> pins() const { return published_.load(); }

    // From a finished handshake, posted by the thread that finished it with
    // the verdict it reached from pins(). A new peer's key is pinned
    // (unverified); a changed or untrusted one is remembered and held.
    void on_key_seen(const std::string& peer, const KeyBytes& public_key, const KeyDigest& digest,
                     KeyVerdict verdict);
    // Nothing is sent to this peer: its key changed, or it is not trusted.
    bool held(const std::string& peer) const;
    void on_pin_changed(PinChanged callback) { pin_changed_ = std::move(callback); }

private:
    void publish();

    PinTable table_;  // the control thread's copy; published_ is a snapshot of it
    std::atomic<std::shared_ptr<const PinTable>> published_;
    std::vector<std::string> refused_;  // peers whose offered key was not trusted
    PinChanged pin_changed_;
    std::shared_ptr<spdlog::logger> log_;
};

}  // namespace chat
