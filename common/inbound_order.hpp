#pragma once
// The receiver's ordering decisions, apart from the store: whether an
// arriving message is a duplicate, shows at once, shows among held ones it
// released, or is held; which held runs are overdue; how long a gap is
// waited for. Pure; the inbound part applies them on the store thread.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chat {

enum class ArrivalKind {
    duplicate,  // its id was committed before: acked again, not stored
    unordered,  // plain, or from a sender without a stream: shown at once
    ordered,    // placed by MessageOrder::arrive
};
ArrivalKind classify_arrival(bool already_committed, std::uint64_t seq);

enum class OrderDecision {
    show_alone,           // the only seq due is its own: stored with the burst
    show_among_released,  // shown in its place among held ones it released
    hold,                 // waits for a gap (after showing what was released)
};
std::string_view to_string(OrderDecision decision);

struct OrderPlan {
    OrderDecision decision = OrderDecision::hold;
    std::vector<std::uint64_t> released_before;  // held seqs shown before it
    std::vector<std::uint64_t> released_after;   // and after it
};
// What to do with message `seq`, given the seqs its arrival made due
// (MessageOrder::arrive). A second copy of `seq` in `due` is ignored.
OrderPlan plan_order(std::uint64_t seq, const std::vector<std::uint64_t>& due);

// The key of a sender's stream in MessageOrder, and of a message id in the
// duplicate window: "peer stream", "peer id".
std::string order_key(const std::string& peer, const std::string& stream);
std::string dedup_key(const std::string& peer, const std::string& msg_id);

// Longer than a sender following our retry settings keeps a gap open.
std::chrono::milliseconds hold_limit(std::int64_t retry_max_ms);
// How often held messages are checked for being overdue.
std::chrono::milliseconds hold_scan_period(std::chrono::milliseconds limit);

// Overdue held messages come sorted by stream, then seq: the [first, last]
// index ranges of each stream's run. Key has `peer` and `stream`.
template <class Key>
std::vector<std::pair<std::size_t, std::size_t>> stream_runs(const std::vector<Key>& keys) {
    std::vector<std::pair<std::size_t, std::size_t>> runs;
    for (std::size_t i = 0; i < keys.size();) {
        std::size_t last = i;
        while (last + 1 < keys.size() && keys[last + 1].peer == keys[i].peer &&
               keys[last + 1].stream == keys[i].stream)
            ++last;
        runs.emplace_back(i, last);
        i = last + 1;
    }
    return runs;
}

}  // namespace chat
