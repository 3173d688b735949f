#pragma once
// Starts the handshakes this side initiates: IK when the peer's public key
// is pinned, else XX; retries an unanswered one (1 s doubling to 8 s)
// while something keeps waiting to be sent, rekeys a session past the
// rekey age when there is something to send, and tells the outbox when a
// session is up. CONTROL thread only: the handshake state it makes is
// handed to the receiver thread (SessionTable) before its init is sent;
// what it knows of sessions (which peers have one, since when) comes from
// the receiver's key events, posted to it.
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "counters.hpp"
#include "seal_types.hpp"

namespace spdlog {
class logger;
}

namespace chat {

class PeerKeys;
class SessionTable;
class UdpTransport;

class Handshaker {
public:
    using SessionUp = std::function<void(const std::string& peer)>;

    Handshaker(asio::io_context& io, PeerKeys& keys, std::shared_ptr<spdlog::logger> log);
    ~Handshaker();

    void start(const crypto::KeyPair& local, SealTimers timers, UdpTransport& transport,
               SessionTable& sessions, SessionUp session_up);
    void stop();

    // Can a datagram be sealed for `peer` now? When there is no session, or
    // it is old enough to rekey, a handshake starts (and is retried while
    // this keeps being asked); a rekeying session is still used meanwhile.
    bool ready(const Endpoint& to, const std::string& peer);
    // A resend found no ack: the peer may have lost our session (it
    // restarted), so a fresh handshake starts; the old session stays in use.
    void renew(const Endpoint& to, const std::string& peer);
    // Data came from `peer` for a session the receiver does not have: one
    // init (not retried), unless a handshake with it started just now.
    void on_session_lost(const Endpoint& from, const std::string& peer);
    // A handshake finished on the receiver thread (posted here).
    void on_key_event(const KeyEvent& event);
    // PeerKeys changed the peer's pin (trust, verify): a session made with
    // another key is not used again, and a new handshake must prove the pin.
    void on_pin_changed(const std::string& peer);

private:
    struct PeerState {
        Endpoint to;
        std::optional<SealClock::time_point> up_at;
        KeyDigest digest{};  // what the session's handshake proved
        // IK inits sent since the last answer: a peer that no longer holds
        // the pinned key cannot answer IK, so XX follows, whose answer
        // shows the key it does hold (a changed key, seen as such).
        unsigned unanswered_ik = 0;
        bool in_flight = false;
        std::chrono::milliseconds delay{0};
        SealClock::time_point next_try;
        SealClock::time_point last_wanted;
        SealClock::time_point last_started;
    };

    void begin(PeerState& state, const std::string& peer);
    void send_init(PeerState& state, const std::string& peer);
    void arm_timer();
    void on_tick();

    asio::io_context& io_;
    PeerKeys& keys_;
    std::shared_ptr<spdlog::logger> log_;
    const crypto::KeyPair* local_ = nullptr;
    SealTimers timers_{};
    UdpTransport* transport_ = nullptr;
    SessionTable* sessions_ = nullptr;
    SessionUp session_up_;
    asio::steady_timer timer_;
    bool timer_armed_ = false;
    std::unordered_map<std::string, PeerState> peers_;
};

}  // namespace chat
