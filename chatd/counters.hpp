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
};

inline void bump(std::atomic<std::uint64_t>& counter) {
    counter.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace chat
