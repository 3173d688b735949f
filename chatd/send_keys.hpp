#pragma once
// The send half of every session: per peer, the newest session's key,
// its remote index and counter, and the last few datagrams sealed for it.
// SENDER thread only; new keys arrive through a mailbox the receiver
// thread pushes to (before it tells the control thread the session is
// up), drained before each send. A key from a handshake the peer started
// while our session with it was young means the peer lost that session
// (it restarted): what we sealed for it just before is sealed again with
// the new key and resent, since nothing else would resend an answer or
// an ack (envelopes are idempotent, so a copy costs nothing).
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bounded_queue.hpp"
#include "seal_types.hpp"

namespace chat {

class SendKeys {
public:
    using Resends = std::vector<std::pair<Endpoint, std::string>>;

    explicit SendKeys(std::chrono::milliseconds reject_after) : reject_after_(reject_after) {}

    // Any thread: hands a new key to the sender thread; false if full.
    bool hand_over(SendKey key) {
        if (!mailbox_.try_push(std::move(key))) return false;
        handed_.fetch_add(1, std::memory_order_release);
        return true;
    }

    // Sender thread: `inner` sealed for `peer` into `out`, and kept (moved)
    // for a resend; false when there is no key for it or it is too old.
    bool seal(const Endpoint& to, const std::string& peer, std::string&& inner, std::string& out);
    // Sender thread: takes the keys handed over; the datagrams to send
    // again under a new key are added to `resends`, sealed.
    void refresh(Resends& resends);

private:
    static constexpr std::size_t kKept = 8;
    struct Kept {
        Endpoint to;
        std::string inner;
        SealClock::time_point sealed_at;
    };
    struct Peer {
        SendKey key;
        std::array<Kept, kKept> kept;
        std::size_t next = 0;
    };
    Peer* find(const std::string& peer);
    void take(SendKey key, Resends& resends);

    const std::chrono::milliseconds reject_after_;
    BoundedQueue<SendKey> mailbox_{1024};
    // Keys pushed and taken: the mailbox's lock is taken only when they
    // differ, not once per datagram.
    std::atomic<std::uint64_t> handed_{0};
    std::uint64_t taken_ = 0;
    std::vector<Peer> peers_;  // few peers, so a scan
};

}  // namespace chat
