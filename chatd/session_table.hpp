#pragma once
// The receive half of the sealed layer. RECEIVER thread only: it answers
// handshakes as responder (XX and IK, with a cookie instead when busy),
// finishes the handshakes the control thread started (handed over through
// a mailbox it drains before each handshake packet), decides on each
// proven key (PeerKeys' published pins, plus the keys it accepted as new
// this run, which the snapshot may not show yet), and opens data packets:
// receive keys and replay windows by our index. A session that comes up
// gives its send key to the sender thread first, then tells the control
// thread, so whatever "session up" causes finds the key there.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "bounded_queue.hpp"
#include "counters.hpp"
#include "replay_window.hpp"
#include "seal_types.hpp"
#include "sealed_wire.hpp"

namespace spdlog {
class logger;
}

namespace chat {

class PeerKeys;
class UdpTransport;

class SessionTable {
public:
    // Runs on the receiver thread; posts the event to the control thread.
    using KeySeen = std::function<void(KeyEvent event)>;
    // Runs on the receiver thread: data came from `peer` for a session we
    // do not have (we restarted, so it still seals with the old one).
    using SessionLost = std::function<void(const Endpoint& from, const std::string& peer)>;

    SessionTable(const crypto::KeyPair& local, const PeerKeys& keys, SealTimers timers,
                 Counters& counters, UdpTransport& transport, KeySeen key_seen,
                 SessionLost session_lost, std::shared_ptr<spdlog::logger> log);
    ~SessionTable();

    // Any thread (the control thread): a handshake it started, pushed
    // before its init is queued for sending. False if the mailbox is full.
    bool hand_over(InitiatorHandshake handshake) {
        return initiators_.try_push(std::move(handshake));
    }

    // A packet's inner datagram when it is data that opened, else nullopt
    // (a handshake packet, or one refused and counted). The view is valid
    // until the next call.
    std::optional<std::string_view> on_packet(std::string_view bytes, const Endpoint& from,
                                              const std::string& peer);
    // A key is pinned for the peer, or was accepted from it this run.
    bool pinned(const std::string& peer) const;

private:
    struct Receiving {
        std::string peer;
        KeyDigest digest{};  // the key its handshake proved
        crypto::CipherState cipher;
        ReplayWindow window{crypto::kRejectAfterCounter};
        SealClock::time_point birth;
    };
    struct Responding {
        std::unique_ptr<crypto::HandshakeState> state;
        Endpoint from;
        std::string peer;
        std::uint32_t remote_index = 0;
        SealClock::time_point started;
    };

    void on_init(const crypto::Packet& init, const Endpoint& from, const std::string& peer);
    void on_response(const crypto::Packet& response, const Endpoint& from, const std::string& peer);
    void on_final(const crypto::Packet& final_packet, const std::string& peer);
    void on_cookie(const crypto::Packet& cookie, const std::string& peer);
    std::optional<std::string_view> on_data(const crypto::Packet& data, const Endpoint& from,
                                            const std::string& peer);
    // Tells the control thread, a few times a second at most (forged
    // source addresses must not make us send many inits).
    void report_lost(const Endpoint& from, const std::string& peer);
    // The load check: true when busy and the init's mac2 is not valid, so
    // it was answered with a cookie and nothing else.
    bool answer_with_cookie(const crypto::Packet& init, const Endpoint& from,
                            const std::string& peer);
    void take_initiators();
    void sweep(SealClock::time_point now);
    KeyVerdict verdict_for(const std::string& peer, const KeyDigest& digest);
    // A pin changed (trust, verify, a changed key found on the control
    // thread from a newer table than ours): sessions whose key the pins no
    // longer allow are ended, so nothing more is shown from them.
    void recheck_sessions();
    // A finished handshake: the verdict, and if it allows, `reply` (this
    // side's last handshake message, if any) and then the session.
    bool finish(crypto::HandshakeState& state, std::uint32_t local_index,
                std::uint32_t remote_index, const Endpoint& from, const std::string& peer,
                crypto::Role role, std::string reply = {});
    std::uint32_t fresh_index() const;

    const crypto::KeyPair& local_;
    const PeerKeys& keys_;
    const SealTimers timers_;
    Counters& counters_;
    UdpTransport& transport_;
    KeySeen key_seen_;
    SessionLost session_lost_;
    std::shared_ptr<spdlog::logger> log_;
    BoundedQueue<InitiatorHandshake> initiators_{256};

    std::unordered_map<std::uint32_t, Receiving> receiving_;
    std::unordered_map<std::uint32_t, Responding> responding_;
    std::unordered_map<std::uint32_t, InitiatorHandshake> initiating_;
    std::unordered_map<std::string, KeyDigest> accepted_;  // new keys accepted this run
    std::uint64_t pins_version_ = 0;                       // of the pins sessions were judged by
    std::string inner_;                                    // the last opened datagram

    // The load check and the cookie secrets (the previous one still counts).
    SealClock::time_point load_window_start_{};
    unsigned inits_in_window_ = 0;
    crypto::Key cookie_secret_;
    crypto::Key previous_cookie_secret_;
    SealClock::time_point cookie_secret_born_;
    SealClock::time_point last_sweep_{};
    SealClock::time_point lost_window_start_{};
    unsigned lost_in_window_ = 0;
};

}  // namespace chat
