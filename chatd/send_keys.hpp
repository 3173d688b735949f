#pragma once
// The send half of every session: per peer, the newest session's key,
// its remote index and counter. SENDER thread only; new keys arrive
// through a mailbox the receiver thread pushes to (before it tells the
// control thread the session is up), drained before each send.
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bounded_queue.hpp"
#include "seal_types.hpp"

namespace chat {

class SendKeys {
public:
    explicit SendKeys(std::chrono::milliseconds reject_after) : reject_after_(reject_after) {}

    // Any thread: hands a new key to the sender thread; false if full.
    bool hand_over(SendKey key) {
        if (!mailbox_.try_push(std::move(key))) return false;
        handed_.fetch_add(1, std::memory_order_release);
        return true;
    }
    void close() { mailbox_.close(); }

    // Sender thread: `inner` sealed for `peer` into `out`; false when
    // there is no key for it or its session is too old.
    bool seal(const std::string& peer, std::string_view inner, std::string& out);

private:
    void take_new_keys();

    const std::chrono::milliseconds reject_after_;
    BoundedQueue<SendKey> mailbox_{1024};
    // Keys pushed and taken: the mailbox's lock is taken only when they
    // differ, not once per datagram.
    std::atomic<std::uint64_t> handed_{0};
    std::uint64_t taken_ = 0;
    std::vector<SendKey> keys_;  // one per peer; few peers, so a scan
};

}  // namespace chat
