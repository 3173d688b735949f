#pragma once
// Inbound messages: stores what arrived, acks it once committed (an ack
// promises it is on disk), drops duplicates (a window of committed ids)
// and shows each sender's messages in the order it sent them, holding one
// that came ahead of a gap (common/message_order.hpp) until the gap fills
// or is overdue. The decisions are common/inbound_order.hpp's.
//
// Threads: store() is called on the receiver thread and release_overdue()
// on the control thread; both only queue a store operation. Everything
// they hold (the duplicate window, the order) is touched on the STORE
// thread only, inside those operations. `shown` runs on the store thread
// too, with the messages that became visible.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "counters.hpp"
#include "dedup_window.hpp"
#include "message_order.hpp"
#include "net.hpp"
#include "store.hpp"

namespace spdlog {
class logger;
}

namespace chat {

class StoreWorker;
class UdpTransport;

class Inbound {
public:
    using Shown = std::function<void(std::vector<MessageView> shown)>;

    Inbound(StoreWorker& store, UdpTransport& transport, Counters& counters, Shown shown,
            std::shared_ptr<spdlog::logger> log);

    // The messages of one burst from one sender: stored in one operation,
    // their acks sent back bundled after the commit.
    void store(std::vector<IncomingMessage> messages, const Endpoint& from);
    // Shows what has waited for a gap since before `cutoff_ms`: longer
    // than the sender could still be retrying it (`waited_seconds`, for
    // the log).
    void release_overdue(std::int64_t cutoff_ms, std::int64_t waited_seconds);

private:
    struct Batch;
    // Store thread, all of them.
    void store_batch(Store& store, Batch& batch);
    void after_commit(Batch& batch, const Endpoint& from, bool durable);
    // Shows or holds an ordered message, given the seqs its arrival made
    // due, adding what became visible to `shown` (its text moves there);
    // true if it was new.
    bool place_in_order(Store& store, IncomingMessage& message,
                        const std::vector<std::uint64_t>& due, std::vector<MessageView>& shown);
    void show_released(Store& store, const std::string& peer, const std::string& stream,
                       const std::vector<std::uint64_t>& seqs, std::vector<MessageView>& shown);
    void release_overdue_now(Store& store, std::int64_t cutoff_ms, std::int64_t waited_seconds,
                             std::vector<MessageView>& shown);
    // The order key of a sender's stream, its state loaded from the store
    // if the tracker does not have it.
    std::string known_stream(Store& store, const std::string& peer, const std::string& stream);

    StoreWorker& store_;
    UdpTransport& transport_;
    Counters& counters_;
    Shown shown_;
    std::shared_ptr<spdlog::logger> log_;
    DedupWindow committed_ids_{65536};  // "peer id" keys durably stored
    MessageOrder order_;                // each sender's next message to show
};

}  // namespace chat
