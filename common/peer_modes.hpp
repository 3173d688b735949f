#pragma once
// Which wire a peer speaks, as far as we have heard: chatd's envelopes,
// plain text, or both; and what that makes us send it. Pure; the peer
// directory (control thread) keeps one per peer.
#include <string_view>

namespace chat {

// How `peers` names what a peer speaks; the one place of those words.
enum class PeerSpeech { chatd, plain, both };
std::string_view to_string(PeerSpeech speech);

struct PeerModes {
    bool envelope = false;  // sent an envelope: a message, an ack, a transfer
    bool plain = false;     // sent a plain-text datagram

    PeerSpeech speech() const;
    // A peer that has only ever spoken plain text gets plain text back; one
    // that ever spoke envelopes gets them (and so does one never heard).
    bool plain_only() const { return plain && !envelope; }
};

}  // namespace chat
