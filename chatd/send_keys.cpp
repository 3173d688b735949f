#include "send_keys.hpp"

#include <algorithm>

#include "sealed_wire.hpp"

namespace chat {

namespace {
// Sealed this recently before the peer lost its session: sent again.
constexpr std::chrono::seconds kResendWithin{2};
}  // namespace

SendKeys::Peer* SendKeys::find(const std::string& peer) {
    const auto found = std::find_if(peers_.begin(), peers_.end(),
                                    [&](const Peer& p) { return p.key.peer == peer; });
    return found == peers_.end() ? nullptr : &*found;
}

void SendKeys::refresh(Resends& resends) {
    if (handed_.load(std::memory_order_acquire) == taken_) return;
    std::vector<SendKey> fresh;
    taken_ += mailbox_.try_pop_batch(fresh, 1024);
    for (SendKey& key : fresh) take(std::move(key), resends);
}

void SendKeys::take(SendKey key, Resends& resends) {
    Peer* peer = find(key.peer);
    if (peer == nullptr) {
        peers_.push_back(Peer{std::move(key), {}, 0});
        return;
    }
    if (key.birth < peer->key.birth) return;
    const bool resend = key.peer_lost_session;
    peer->key = std::move(key);
    if (!resend) return;
    const auto now = SealClock::now();
    for (std::size_t i = 0; i < kKept; ++i) {
        // Oldest first, as they were sent.
        Kept& kept = peer->kept[(peer->next + i) % kKept];
        if (kept.inner.empty() || now - kept.sealed_at > kResendWithin) continue;
        std::string sealed;
        crypto::seal_data(peer->key.cipher, peer->key.remote_index, peer->key.counter++, kept.inner,
                          sealed);
        resends.emplace_back(kept.to, std::move(sealed));
    }
}

bool SendKeys::seal(const Endpoint& to, const std::string& peer, std::string&& inner,
                    std::string& out) {
    Peer* p = find(peer);
    if (p == nullptr) return false;
    SendKey& key = p->key;
    const auto now = SealClock::now();
    if (now - key.birth >= reject_after_ || key.counter >= crypto::kRejectAfterCounter)
        return false;
    crypto::seal_data(key.cipher, key.remote_index, key.counter++, inner, out);
    // The slot's old datagram is freed here instead of after the send: no
    // allocation more per datagram.
    p->kept[p->next] = Kept{to, std::move(inner), now};
    p->next = (p->next + 1) % kKept;
    return true;
}

}  // namespace chat
