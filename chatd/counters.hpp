#pragma once
#include <atomic>
#include <cstdint>

namespace chat {

// Shared by the receiver, sender, store and control threads; relaxed
// atomics, as they are only ever read for `chatcli status`.
struct Counters {
    std::atomic<std::uint64_t> received{0};           // new messages stored
    std::atomic<std::uint64_t> sent{0};               // datagrams handed to the kernel
    std::atomic<std::uint64_t> acked{0};              // our messages the peer acked
    std::atomic<std::uint64_t> retried{0};            // resends of unacked messages
    std::atomic<std::uint64_t> duplicates{0};         // messages seen before, acked again
    std::atomic<std::uint64_t> dropped_malformed{0};  // not a message or envelope we accept
    std::atomic<std::uint64_t> dropped_oversize{0};   // larger than the receive buffer
    std::atomic<std::uint64_t> unknown_acks{0};       // acks for no pending message
    std::atomic<std::uint64_t> expired{0};            // outbox messages never acked in time
    std::atomic<std::uint64_t> send_errors{0};        // sendto failures
    std::atomic<std::uint64_t> store_errors{0};       // failed store transactions
    std::atomic<std::uint64_t> store_commits{0};      // transactions (each a batch of writes)
    // The sealed layer (issue 20).
    std::atomic<std::uint64_t> handshakes_completed{0};  // sessions up, either role
    std::atomic<std::uint64_t> cookies_sent{0};          // inits answered with a cookie (busy)
    std::atomic<std::uint64_t> refused_unsealed{
        0};  // a JSON envelope in clear (old chatd); in dropped_malformed too
    std::atomic<std::uint64_t> refused_downgrade{0};    // plain text from a pinned peer
    std::atomic<std::uint64_t> refused_plain{0};        // plain text, security.plain_peers deny
    std::atomic<std::uint64_t> refused_key{0};          // a proven key changed or not trusted
    std::atomic<std::uint64_t> replayed{0};             // a data counter seen or too old
    std::atomic<std::uint64_t> bad_mac{0};              // a packet or handshake failing its AEAD
    std::atomic<std::uint64_t> unknown_session{0};      // no session (or handshake) by that index
    std::atomic<std::uint64_t> expired_session{0};      // data on a session past its age
    std::atomic<std::uint64_t> sealed_send_dropped{0};  // no send key for the peer
};

inline void bump(std::atomic<std::uint64_t>& counter) {
    counter.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace chat
