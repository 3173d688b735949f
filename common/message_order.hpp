#pragma once
// Shows each sender's messages in the order it sent them. Every message is
// stored and acked when it arrives (an ack promises it is on disk), but one
// that arrives ahead of a gap is held back until the gap fills, the
// sender's floor passes it (the missing ones were acked or given up), or
// the caller decides the wait is over (skip_gap). Pure bookkeeping of
// sequence numbers: the store thread owns one and keeps the messages.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace chat {

class MessageOrder {
public:
    // A stream that holds this many messages jumps its oldest gap, so a
    // peer that skips numbers cannot make us hold its messages forever.
    static constexpr std::size_t kMaxHeldPerStream = 4096;

    // Whether the tracker has this stream's state; if not, the caller loads
    // it with restore() first (a stream never seen starts at its floor).
    bool knows(const std::string& stream) const { return streams_.contains(stream); }
    void restore(const std::string& stream, std::uint64_t next,
                 const std::vector<std::uint64_t>& held);

    // A message `seq` arrived, saying `floor`. Returns the seqs to show now,
    // in order: `seq` itself if it is due (else it is held), and any held
    // ones it or the floor released.
    std::vector<std::uint64_t> arrive(const std::string& stream, std::uint64_t seq,
                                      std::uint64_t floor);
    // Gives up waiting for the oldest gap: the first held message and the
    // run after it are shown.
    std::vector<std::uint64_t> skip_gap(const std::string& stream);
    // Skips gaps until `seq` has been shown or nothing is held: every seq
    // shown on the way, in order (how overdue held messages are released).
    std::vector<std::uint64_t> skip_gaps_through(const std::string& stream, std::uint64_t seq);

    // The next seq to show (0: unknown stream), and what is held.
    std::uint64_t next(const std::string& stream) const;
    std::size_t held(const std::string& stream) const;

    // Drops a stream's state (after a failed commit, so it is reloaded).
    void forget(const std::string& stream) { streams_.erase(stream); }
    void clear() { streams_.clear(); }
    // Drops streams that hold nothing once there are more than `keep`.
    void trim(std::size_t keep);
    std::size_t size() const { return streams_.size(); }

private:
    struct Stream {
        std::uint64_t next = 0;
        std::set<std::uint64_t> held;
    };
    // Shows held messages below `next`, then the run from `next` on.
    static void release(Stream& stream, std::vector<std::uint64_t>& shown);

    std::unordered_map<std::string, Stream> streams_;
};

}  // namespace chat
