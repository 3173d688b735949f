#pragma once
// What the sealed layer's three threads hand each other through their
// mailboxes (BoundedQueues): an initiator's handshake (control → receiver),
// a session's send key (receiver → sender), a finished handshake's key
// and verdict (receiver → control, posted). Plain values: each is owned
// by whichever thread holds it.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "net.hpp"
#include "noise.hpp"
#include "trust.hpp"

namespace chat {

using SealClock = std::chrono::steady_clock;

// The session ages the wire's timers use; tests shorten them through
// CHATD_TEST_HOOKS (CHATD_TEST_REKEY_MS, CHATD_TEST_REJECT_MS), nothing else.
struct SealTimers {
    std::chrono::milliseconds rekey_after;
    std::chrono::milliseconds reject_after;
};
SealTimers seal_timers(bool test_hooks);

// A handshake this side started: made on the control thread, finished on
// the receiver thread.
struct InitiatorHandshake {
    std::uint32_t index = 0;  // ours: the response carries it
    Endpoint to;
    std::string peer;  // endpoint_key(to)
    crypto::Pattern pattern = crypto::Pattern::xx;
    std::unique_ptr<crypto::HandshakeState> state;
    std::string init;  // the packet as sent, resent with mac2 after a cookie
    SealClock::time_point started;
};

// One direction of a session, for the sender thread.
struct SendKey {
    std::string peer;  // endpoint_key of where it sends
    std::uint32_t remote_index = 0;
    crypto::CipherState cipher;
    std::uint64_t counter = 0;
    SealClock::time_point birth;
    // The peer started this handshake while our session with it was young:
    // it lost that session (restarted), so resend what was just sealed.
    bool peer_lost_session = false;
};

// A handshake finished on the receiver thread: the key it proved, and
// whether a session came up from it.
struct KeyEvent {
    std::string peer;
    Endpoint from;
    KeyBytes public_key{};
    KeyDigest digest{};
    KeyVerdict verdict = KeyVerdict::known;
    bool session_up() const {
        return verdict == KeyVerdict::known || verdict == KeyVerdict::new_peer;
    }
};

}  // namespace chat
