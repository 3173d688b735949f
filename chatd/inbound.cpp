#include "inbound.hpp"

#include <spdlog/logger.h>

#include <set>

#include "envelope.hpp"
#include "inbound_order.hpp"
#include "store_worker.hpp"
#include "udp_transport.hpp"

namespace chat {
namespace {

// How a received message just stored is shown; its text moves there.
MessageView received_view(std::int64_t row, IncomingMessage& m) {
    const std::int64_t sent = message_id_clock_ms(m.msg_id, m.ts_ms).value_or(0);
    return {row, kMessageIn, m.peer, m.name, std::move(m.text), m.ts_ms, m.plain, "received", sent};
}

// Messages due at once (nearly all) go in together, in arrival order,
// before anything else writes rows: one INSERT per 64 rows.
class DueRows {
public:
    explicit DueRows(std::vector<IncomingMessage>& messages) : messages_(messages) {}
    void add(std::size_t i) { due_.push_back(i); }
    void insert(Store& store, std::vector<bool>& fresh, std::vector<MessageView>& shown) {
        if (due_.empty()) return;
        std::vector<const IncomingMessage*> batch;
        batch.reserve(due_.size());
        for (const std::size_t i : due_) batch.push_back(&messages_[i]);
        const auto rows = store.insert_incoming_rows(batch);
        for (std::size_t k = 0; k < due_.size(); ++k) {
            if (!rows[k]) continue;
            fresh[due_[k]] = true;
            shown.push_back(received_view(*rows[k], messages_[due_[k]]));
        }
        due_.clear();
    }

private:
    std::vector<IncomingMessage>& messages_;
    std::vector<std::size_t> due_;
};

}  // namespace

struct Inbound::Batch {
    std::vector<IncomingMessage> messages;
    std::vector<std::string> keys;  // "peer id" for the duplicate window; "" for plain
    std::vector<bool> fresh;
    std::vector<MessageView> shown;
};

Inbound::Inbound(StoreWorker& store, UdpTransport& transport, Counters& counters, Shown shown,
                 std::shared_ptr<spdlog::logger> log)
    : store_(store),
      transport_(transport),
      counters_(counters),
      shown_(std::move(shown)),
      log_(std::move(log)) {}

// Stores first, acks after the commit. A duplicate is acked again (its
// first ack may have been lost) but shown once. The duplicate window learns
// an id only once it is committed, so a failed commit never turns the retry
// into a "duplicate" that is acked but was never stored.
void Inbound::store(std::vector<IncomingMessage> messages, const Endpoint& from) {
    auto batch = std::make_shared<Batch>();
    batch->messages = std::move(messages);
    batch->fresh.assign(batch->messages.size(), false);
    for (const auto& m : batch->messages)
        batch->keys.push_back(m.plain ? std::string() : dedup_key(m.peer, m.msg_id));
    StoreOp op;
    op.work = [this, batch](Store& store) { store_batch(store, *batch); };
    op.done = [this, batch, from](bool durable) { after_commit(*batch, from, durable); };
    store_.submit(std::move(op));
}

void Inbound::store_batch(Store& store, Batch& batch) {
    const IncomingMessage& last = batch.messages.back();
    // What every message of the batch spoke, and the latest name given.
    bool spoke_envelope = false, spoke_plain = false;
    std::string name;
    for (const auto& m : batch.messages) {
        (m.plain ? spoke_plain : spoke_envelope) = true;
        if (!m.name.empty()) name = m.name;
    }
    store.touch_peer(last.peer, name, spoke_envelope, spoke_plain, last.ts_ms);
    std::set<std::string> streams;  // whose next seq to save, once each
    std::string stream_key;         // "peer stream", made once per run of one stream
    const std::string* keyed = nullptr;
    DueRows due(batch.messages);
    for (std::size_t i = 0; i < batch.messages.size(); ++i) {
        IncomingMessage& m = batch.messages[i];
        const std::string& key = batch.keys[i];
        const bool committed = !key.empty() && committed_ids_.contains(key);
        const ArrivalKind kind = classify_arrival(committed, m.seq);
        if (kind == ArrivalKind::duplicate) continue;
        if (kind == ArrivalKind::unordered) {
            due.add(i);
            continue;
        }
        if (!keyed || *keyed != m.stream) {
            stream_key = known_stream(store, m.peer, m.stream);
            keyed = &m.stream;
            streams.insert(m.stream);
        }
        const auto seqs = order_.arrive(stream_key, m.seq, m.floor);
        if (plan_order(m.seq, seqs).decision == OrderDecision::show_alone) {
            due.add(i);
            continue;
        }
        due.insert(store, batch.fresh, batch.shown);
        batch.fresh[i] = place_in_order(store, m, seqs, batch.shown);
    }
    due.insert(store, batch.fresh, batch.shown);
    for (const auto& stream : streams) {
        store.save_stream(last.peer, stream, order_.next(order_key(last.peer, stream)));
    }
    order_.trim(4096);
}

void Inbound::after_commit(Batch& batch, const Endpoint& from, bool durable) {
    if (!durable) {
        // No ack, so the sender retries; the order is read again from the store.
        for (const auto& m : batch.messages) {
            if (m.seq > 0) order_.forget(order_key(m.peer, m.stream));
        }
        return;
    }
    std::vector<std::string> acks;
    for (std::size_t i = 0; i < batch.messages.size(); ++i) {
        const IncomingMessage& m = batch.messages[i];
        if (!m.plain) {
            committed_ids_.insert(std::move(batch.keys[i]));
            acks.push_back(encode_ack(m.msg_id));
        }
        if (batch.fresh[i]) {
            bump(counters_.received);
        } else if (!m.plain) {
            bump(counters_.duplicates);
        }
    }
    for (auto& datagram : bundle_envelopes(acks)) transport_.send(from, std::move(datagram));
    if (!batch.shown.empty()) shown_(std::move(batch.shown));
}

std::string Inbound::known_stream(Store& store, const std::string& peer,
                                  const std::string& stream) {
    std::string key = order_key(peer, stream);
    if (!order_.knows(key)) {
        const StreamState state = store.stream_state(peer, stream);
        order_.restore(key, state.next, state.held);
    }
    return key;
}

void Inbound::show_released(Store& store, const std::string& peer, const std::string& stream,
                            const std::vector<std::uint64_t>& seqs,
                            std::vector<MessageView>& shown) {
    for (const std::uint64_t seq : seqs) {
        for (auto& view : store.release_held(peer, stream, seq)) shown.push_back(view);
    }
}

bool Inbound::place_in_order(Store& store, IncomingMessage& m,
                             const std::vector<std::uint64_t>& due,
                             std::vector<MessageView>& shown) {
    const OrderPlan plan = plan_order(m.seq, due);
    show_released(store, m.peer, m.stream, plan.released_before, shown);
    if (plan.decision == OrderDecision::hold) return store.hold_incoming(m);
    bool fresh = false;
    if (auto row = store.insert_incoming(m)) {
        fresh = true;
        shown.push_back(received_view(*row, m));
    }
    show_released(store, m.peer, m.stream, plan.released_after, shown);
    return fresh;
}

void Inbound::release_overdue(std::int64_t cutoff_ms, std::int64_t waited_seconds) {
    auto shown = std::make_shared<std::vector<MessageView>>();
    StoreOp op;
    op.work = [this, shown, cutoff_ms, waited_seconds](Store& store) {
        release_overdue_now(store, cutoff_ms, waited_seconds, *shown);
    };
    op.done = [this, shown](bool durable) {
        if (!durable) {
            order_.clear();  // read back from the store
            return;
        }
        if (!shown->empty()) shown_(std::move(*shown));
    };
    store_.submit(std::move(op));
}

void Inbound::release_overdue_now(Store& store, std::int64_t cutoff_ms, std::int64_t waited_seconds,
                                  std::vector<MessageView>& shown) {
    const auto overdue = store.held_before(cutoff_ms);
    for (const auto& [first, last] : stream_runs(overdue)) {
        const HeldKey& k = overdue[first];
        const std::string key = known_stream(store, k.peer, k.stream);
        show_released(store, k.peer, k.stream, order_.skip_gaps_through(key, overdue[last].seq),
                      shown);
        store.save_stream(k.peer, k.stream, order_.next(key));
        log_->info("showing messages from {} that waited {} s for an earlier one that never came",
                   k.peer, waited_seconds);
    }
}

}  // namespace chat
