#include "handshaker.hpp"

#include <spdlog/logger.h>

#include <cstdlib>

#include "peer_keys.hpp"
#include "sealed_wire.hpp"
#include "session_table.hpp"
#include "udp_transport.hpp"

namespace chat {

using std::chrono::milliseconds;

namespace {

constexpr milliseconds kTick{200};
// A handshake nobody asked for in this long is given up.
constexpr milliseconds kWantedFor = crypto::kHandshakeRetryMax * 2;
// A session this young is not renewed for a missing ack.
constexpr milliseconds kRenewAfter{2000};
// IK inits unanswered before XX is tried.
constexpr unsigned kIkTries = 2;

milliseconds env_ms(const char* name, milliseconds fallback) {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0') return fallback;
    char* end = nullptr;
    const long long value = std::strtoll(text, &end, 10);
    return *end == '\0' && value > 0 ? milliseconds(value) : fallback;
}

}  // namespace

SealTimers seal_timers(bool test_hooks) {
    if (!test_hooks) return {crypto::kRekeyAfter, crypto::kRejectAfter};
    return {env_ms("CHATD_TEST_REKEY_MS", crypto::kRekeyAfter),
            env_ms("CHATD_TEST_REJECT_MS", crypto::kRejectAfter)};
}

Handshaker::Handshaker(asio::io_context& io, PeerKeys& keys, std::shared_ptr<spdlog::logger> log)
    : io_(io), keys_(keys), log_(std::move(log)), timer_(io) {}

Handshaker::~Handshaker() = default;

void Handshaker::start(const crypto::KeyPair& local, SealTimers timers, UdpTransport& transport,
                       SessionTable& sessions, SessionUp session_up) {
    local_ = &local;
    timers_ = timers;
    transport_ = &transport;
    sessions_ = &sessions;
    session_up_ = std::move(session_up);
}

void Handshaker::stop() {
    timer_.cancel();
    transport_ = nullptr;
    sessions_ = nullptr;
}

bool Handshaker::ready(const Endpoint& to, const std::string& peer) {
    if (transport_ == nullptr) return false;
    const auto now = SealClock::now();
    PeerState& state = peers_[peer];
    state.to = to;
    state.last_wanted = now;
    const auto age = state.up_at ? now - *state.up_at : SealClock::duration::max();
    const bool usable = state.up_at && age < timers_.reject_after;
    if (!usable || age >= timers_.rekey_after) begin(state, peer);
    return usable;
}

void Handshaker::renew(const Endpoint& to, const std::string& peer) {
    if (transport_ == nullptr) return;
    const auto now = SealClock::now();
    PeerState& state = peers_[peer];
    state.to = to;
    state.last_wanted = now;
    if (state.up_at && now - *state.up_at < kRenewAfter) return;
    if (now - state.last_started < kRenewAfter) return;
    begin(state, peer);
}

void Handshaker::on_session_lost(const Endpoint& from, const std::string& peer) {
    if (transport_ == nullptr) return;
    const auto now = SealClock::now();
    PeerState& state = peers_[peer];
    if (now - state.last_started < kRenewAfter) return;
    state.to = from;
    begin(state, peer);  // not wanted by anything: the tick ends it after one init
}

void Handshaker::begin(PeerState& state, const std::string& peer) {
    if (state.in_flight) return;  // the timer resends it
    state.in_flight = true;
    state.delay = crypto::kHandshakeRetryFirst;
    send_init(state, peer);
    arm_timer();
}

void Handshaker::send_init(PeerState& state, const std::string& peer) {
    const Pin* pin = keys_.pins()->find(peer);
    const bool ik = pin != nullptr && pin->public_key.has_value() && !pin->changed_to &&
                    state.unanswered_ik < kIkTries;
    state.unanswered_ik = ik ? state.unanswered_ik + 1 : 0;
    InitiatorHandshake h;
    h.index = crypto::random_index();
    h.to = state.to;
    h.peer = peer;
    h.pattern = ik ? crypto::Pattern::ik : crypto::Pattern::xx;
    h.state = std::make_unique<crypto::HandshakeState>(crypto::HandshakeConfig{
        h.pattern, crypto::Role::initiator,
        crypto::Bytes(crypto::kPrologue.begin(), crypto::kPrologue.end()), *local_,
        ik ? std::optional<crypto::Key>(*pin->public_key) : std::nullopt, std::nullopt});
    const crypto::Bytes msg1 = h.state->write_message({});
    h.init = crypto::encode_init(ik ? crypto::PacketType::ik_init : crypto::PacketType::xx_init,
                                 h.index, msg1);
    h.started = SealClock::now();
    std::string init = h.init;
    // Handed over first, so the receiver knows the index before any answer.
    if (!sessions_->hand_over(std::move(h))) return;
    transport_->send(state.to, std::move(init), Wire::raw);
    state.last_started = SealClock::now();
    state.next_try = state.last_started + state.delay;
    state.delay = std::min(state.delay * 2, crypto::kHandshakeRetryMax);
    log_->debug("handshake ({}) to {}", ik ? "IK" : "XX", peer);
}

void Handshaker::arm_timer() {
    if (timer_armed_ || transport_ == nullptr) return;
    timer_armed_ = true;
    timer_.expires_after(kTick);
    timer_.async_wait([this](asio::error_code ec) {
        timer_armed_ = false;
        if (!ec) on_tick();
    });
}

void Handshaker::on_tick() {
    if (transport_ == nullptr) return;
    const auto now = SealClock::now();
    bool any = false;
    for (auto& [peer, state] : peers_) {
        if (!state.in_flight) continue;
        if (now - state.last_wanted > kWantedFor) {
            state.in_flight = false;  // nothing waits for it any more
            continue;
        }
        any = true;
        if (now >= state.next_try) send_init(state, peer);
    }
    if (any) arm_timer();
}

void Handshaker::on_key_event(const KeyEvent& event) {
    keys_.on_key_seen(event.peer, event.public_key, event.digest, event.verdict);
    PeerState& state = peers_[event.peer];
    state.to = event.from;
    state.in_flight = false;
    state.unanswered_ik = 0;
    // held(): the control thread's newer table may refuse what the
    // receiver's older one allowed; the receiver ends that session too.
    if (!event.session_up() || keys_.held(event.peer)) return;
    state.up_at = SealClock::now();
    state.digest = event.digest;
    if (session_up_) session_up_(event.peer);
}

void Handshaker::on_pin_changed(const std::string& peer) {
    const auto found = peers_.find(peer);
    if (found == peers_.end() || !found->second.up_at) return;
    const Pin* pin = keys_.pin(peer);
    if (pin == nullptr || pin->digest != found->second.digest) found->second.up_at.reset();
}

}  // namespace chat
