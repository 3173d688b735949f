#include "session_table.hpp"

#include <spdlog/logger.h>

#include <algorithm>
#include <vector>

#include "peer_keys.hpp"
#include "udp_transport.hpp"

namespace chat {

using crypto::Packet;
using crypto::PacketType;
using crypto::Pattern;
using crypto::Role;

namespace {

// A handshake left half done this long is forgotten.
constexpr std::chrono::seconds kHandshakeLifetime{15};
// Lost sessions reported to the control thread per second, at most.
constexpr unsigned kLostReportsPerSecond = 16;
// Responder handshakes waiting for XX msg3, at most.
constexpr std::size_t kMaxResponding = 4096;

crypto::ByteView prologue() { return crypto::as_bytes(crypto::kPrologue); }

}  // namespace

SessionTable::SessionTable(const crypto::KeyPair& local, const PeerKeys& keys, SealTimers timers,
                           Counters& counters, UdpTransport& transport, KeySeen key_seen,
                           SessionLost session_lost, std::shared_ptr<spdlog::logger> log)
    : local_(local),
      keys_(keys),
      timers_(timers),
      counters_(counters),
      transport_(transport),
      key_seen_(std::move(key_seen)),
      session_lost_(std::move(session_lost)),
      log_(std::move(log)),
      cookie_secret_(crypto::random_key()),
      previous_cookie_secret_(crypto::random_key()),
      cookie_secret_born_(SealClock::now()) {}

SessionTable::~SessionTable() = default;

std::optional<std::string_view> SessionTable::on_packet(std::string_view bytes,
                                                        const Endpoint& from,
                                                        const std::string& peer) {
    const Packet p = crypto::decode_packet(bytes);
    if (p.error != crypto::PacketError::none) {
        bump(counters_.dropped_malformed);
        log_->debug("dropped a malformed {}-byte packet from {}", bytes.size(), peer);
        return std::nullopt;
    }
    if (p.type == PacketType::data) return on_data(p, from, peer);
    const auto now = SealClock::now();
    if (now - last_sweep_ >= std::chrono::seconds(1)) sweep(now);
    switch (p.type) {
        case PacketType::xx_init:
        case PacketType::ik_init:
            on_init(p, from, peer);
            break;
        case PacketType::response:
            on_response(p, from, peer);
            break;
        case PacketType::xx_final:
            on_final(p, peer);
            break;
        case PacketType::cookie:
            on_cookie(p, peer);
            break;
        case PacketType::data:
            break;
    }
    return std::nullopt;
}

void SessionTable::report_lost(const Endpoint& from, const std::string& peer) {
    const auto now = SealClock::now();
    if (now - lost_window_start_ >= std::chrono::seconds(1)) {
        lost_window_start_ = now;
        lost_in_window_ = 0;
    }
    if (++lost_in_window_ <= kLostReportsPerSecond && session_lost_) session_lost_(from, peer);
}

std::optional<std::string_view> SessionTable::on_data(const Packet& data, const Endpoint& from,
                                                      const std::string& peer) {
    if (keys_.version() != pins_version_) recheck_sessions();
    const auto found = receiving_.find(data.receiver_index);
    if (found == receiving_.end() || found->second.peer != peer) {
        bump(counters_.unknown_session);
        report_lost(from, peer);
        return std::nullopt;
    }
    Receiving& session = found->second;
    if (SealClock::now() - session.birth >= timers_.reject_after) {
        bump(counters_.expired_session);
        receiving_.erase(found);
        return std::nullopt;
    }
    // The window is only moved once the AEAD verified.
    if (!session.window.check(data.counter)) {
        bump(counters_.replayed);
        return std::nullopt;
    }
    const auto opened = crypto::open_data(session.cipher, data);
    if (!opened) {
        bump(counters_.bad_mac);
        return std::nullopt;
    }
    if (!session.window.accept(data.counter)) {
        bump(counters_.replayed);
        return std::nullopt;
    }
    inner_.assign(reinterpret_cast<const char*>(opened->data()), opened->size());
    return std::string_view(inner_);
}

bool SessionTable::answer_with_cookie(const Packet& init, const Endpoint& from,
                                      const std::string& peer) {
    const auto now = SealClock::now();
    if (now - load_window_start_ >= std::chrono::seconds(1)) {
        load_window_start_ = now;
        inits_in_window_ = 0;
    }
    if (++inits_in_window_ <= crypto::kBusyInitsPerSecond) return false;
    if (now - cookie_secret_born_ >= crypto::kCookieSecretLifetime) {
        previous_cookie_secret_ = cookie_secret_;
        cookie_secret_ = crypto::random_key();
        cookie_secret_born_ = now;
    }
    const crypto::Cookie cookie = crypto::make_cookie(cookie_secret_, peer);
    if (crypto::mac2_matches(cookie, init) ||
        crypto::mac2_matches(crypto::make_cookie(previous_cookie_secret_, peer), init))
        return false;
    transport_.send(from, crypto::encode_cookie(init.sender_index, cookie), Wire::raw);
    bump(counters_.cookies_sent);
    return true;
}

void SessionTable::on_init(const Packet& init, const Endpoint& from, const std::string& peer) {
    if (answer_with_cookie(init, from, peer)) return;
    const Pattern pattern = init.type == PacketType::ik_init ? Pattern::ik : Pattern::xx;
    if (pattern == Pattern::xx && responding_.size() >= kMaxResponding) return;
    auto state = std::make_unique<crypto::HandshakeState>(crypto::HandshakeConfig{
        pattern, crypto::Role::responder, crypto::Bytes(prologue().begin(), prologue().end()),
        local_, std::nullopt, std::nullopt});
    const std::uint32_t index = fresh_index();
    try {
        state->read_message(init.noise);
        const crypto::Bytes msg2 = state->write_message({});
        const std::string response = crypto::encode_response(index, init.sender_index, msg2);
        if (pattern == Pattern::ik) {
            // The initiator's key is proven by msg1: decide before answering.
            finish(*state, index, init.sender_index, from, peer, Role::responder, response);
            return;
        }
        transport_.send(from, response, Wire::raw);
        responding_[index] =
            Responding{std::move(state), from, peer, init.sender_index, SealClock::now()};
    } catch (const crypto::NoiseError& e) {
        bump(counters_.bad_mac);
        log_->debug("refused a handshake init from {}: {}", peer, e.what());
    }
}

void SessionTable::on_response(const Packet& response, const Endpoint& from,
                               const std::string& peer) {
    take_initiators();
    const auto found = initiating_.find(response.receiver_index);
    if (found == initiating_.end() || found->second.peer != peer) {
        bump(counters_.unknown_session);
        return;
    }
    InitiatorHandshake handshake = std::move(found->second);
    initiating_.erase(found);
    const std::size_t expected =
        handshake.pattern == Pattern::xx ? crypto::kXxMsg2Len : crypto::kIkMsg2Len;
    if (response.noise.size() != expected) {
        bump(counters_.dropped_malformed);
        return;
    }
    try {
        handshake.state->read_message(response.noise);
        std::string final_packet;
        if (handshake.pattern == Pattern::xx) {
            const crypto::Bytes msg3 = handshake.state->write_message({});
            final_packet = crypto::encode_xx_final(response.sender_index, msg3);
        }
        finish(*handshake.state, handshake.index, response.sender_index, from, peer,
               Role::initiator, std::move(final_packet));
    } catch (const crypto::NoiseError& e) {
        bump(counters_.bad_mac);
        log_->debug("refused a handshake response from {}: {}", peer, e.what());
    }
}

void SessionTable::on_final(const Packet& final_packet, const std::string& peer) {
    const auto found = responding_.find(final_packet.receiver_index);
    if (found == responding_.end() || found->second.peer != peer) {
        bump(counters_.unknown_session);
        return;
    }
    Responding responding = std::move(found->second);
    responding_.erase(found);
    try {
        responding.state->read_message(final_packet.noise);
        finish(*responding.state, final_packet.receiver_index, responding.remote_index,
               responding.from, peer, Role::responder);
    } catch (const crypto::NoiseError& e) {
        bump(counters_.bad_mac);
        log_->debug("refused a handshake's last message from {}: {}", peer, e.what());
    }
}

void SessionTable::on_cookie(const Packet& cookie, const std::string& peer) {
    take_initiators();
    const auto found = initiating_.find(cookie.receiver_index);
    if (found == initiating_.end() || found->second.peer != peer) {
        bump(counters_.unknown_session);
        return;
    }
    // The same init again, now with a mac2 the busy responder accepts.
    InitiatorHandshake& handshake = found->second;
    crypto::stamp_mac2(handshake.init, cookie.cookie);
    transport_.send(handshake.to, handshake.init, Wire::raw);
}

bool SessionTable::finish(crypto::HandshakeState& state, std::uint32_t local_index,
                          std::uint32_t remote_index, const Endpoint& from, const std::string& peer,
                          Role role, std::string reply) {
    crypto::Transport keys = state.take_transport();
    KeyEvent event{peer, from, keys.remote_static, crypto::key_digest(keys.remote_static),
                   KeyVerdict::known};
    event.verdict = verdict_for(peer, event.digest);
    if (!event.session_up()) {
        bump(counters_.refused_key);
        log_->debug("refused a session with {}: its key is {}", peer,
                    key_verdict_name(event.verdict));
        key_seen_(std::move(event));
        return false;
    }
    // The last handshake message goes before the send key exists, so
    // before any data sealed with it.
    if (!reply.empty()) transport_.send(from, std::move(reply), Wire::raw);
    const auto now = SealClock::now();
    const bool lost =
        role == Role::responder &&
        std::any_of(receiving_.begin(), receiving_.end(), [&](const auto& entry) {
            return entry.second.peer == peer && now - entry.second.birth < timers_.rekey_after;
        });
    receiving_[local_index] =
        Receiving{peer, event.digest, keys.receive, ReplayWindow(crypto::kRejectAfterCounter), now};
    transport_.add_send_key(SendKey{peer, remote_index, keys.send, 0, now, lost});
    bump(counters_.handshakes_completed);
    key_seen_(std::move(event));
    return true;
}

void SessionTable::recheck_sessions() {
    pins_version_ = keys_.version();
    const auto pins = keys_.pins();
    // A key accepted as new this run is in the pins now, or was refused there.
    std::erase_if(accepted_, [&](const auto& entry) { return pins->find(entry.first) != nullptr; });
    std::erase_if(receiving_, [&](const auto& entry) {
        const Receiving& session = entry.second;
        if (accepted_.contains(session.peer)) return false;
        const KeyVerdict verdict = pins->verdict(session.peer, session.digest);
        if (verdict == KeyVerdict::known) return false;
        bump(counters_.refused_key);
        log_->debug("ended the session with {}: its key is {} now", session.peer,
                    key_verdict_name(verdict));
        return true;
    });
}

KeyVerdict SessionTable::verdict_for(const std::string& peer, const KeyDigest& digest) {
    const auto pins = keys_.pins();
    if (pins->find(peer) == nullptr) {
        if (const auto accepted = accepted_.find(peer); accepted != accepted_.end())
            return accepted->second == digest ? KeyVerdict::known : KeyVerdict::changed;
    }
    const KeyVerdict verdict = pins->verdict(peer, digest);
    if (verdict == KeyVerdict::new_peer) accepted_[peer] = digest;
    return verdict;
}

bool SessionTable::pinned(const std::string& peer) const {
    return accepted_.contains(peer) || keys_.pins()->find(peer) != nullptr;
}

void SessionTable::take_initiators() {
    std::vector<InitiatorHandshake> handed;
    if (initiators_.try_pop_batch(handed, 256) == 0) return;
    for (InitiatorHandshake& h : handed) {
        // An index this thread already uses (one in 2^32): dropped, retried.
        if (receiving_.contains(h.index) || responding_.contains(h.index)) continue;
        initiating_[h.index] = std::move(h);
    }
}

void SessionTable::sweep(SealClock::time_point now) {
    last_sweep_ = now;
    std::erase_if(receiving_, [&](const auto& entry) {
        return now - entry.second.birth >= timers_.reject_after;
    });
    std::erase_if(responding_, [&](const auto& entry) {
        return now - entry.second.started >= kHandshakeLifetime;
    });
    std::erase_if(initiating_, [&](const auto& entry) {
        return now - entry.second.started >= kHandshakeLifetime;
    });
}

std::uint32_t SessionTable::fresh_index() const {
    for (;;) {
        const std::uint32_t index = crypto::random_index();
        if (!receiving_.contains(index) && !responding_.contains(index) &&
            !initiating_.contains(index))
            return index;
    }
}

}  // namespace chat
