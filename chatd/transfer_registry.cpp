#include "transfer_registry.hpp"

#include <spdlog/logger.h>

#include <algorithm>
#include <cstdio>

#include "transfer_context.hpp"

namespace chat {
namespace {

constexpr std::size_t kFinishedKeptInMemory = 100;

template <typename State>
void checked_move(spdlog::logger& log, std::uint64_t number, State& state, State to) {
    if (state != to && !can_move(state, to)) {
        log.error("transfer {}: {} -> {} is not a move its state machine allows", number,
                  to_string(state), to_string(to));
    }
    state = to;
}

}  // namespace

void move_state(spdlog::logger& log, std::uint64_t number, OutgoingState& state, OutgoingState to) {
    checked_move(log, number, state, to);
}

void move_state(spdlog::logger& log, std::uint64_t number, IncomingState& state, IncomingState to) {
    checked_move(log, number, state, to);
}

TransferIds ids_of(const TransferRow& row) {
    return {static_cast<std::uint64_t>(row.number), row.wire_id, row.peer};
}

TransferRow row_of(const TransferIds& ids, TransferDirection direction, std::string_view state,
                   std::string doc, std::optional<std::string> manifest) {
    return {static_cast<std::int64_t>(ids.number),
            ids.id,
            std::string(to_string(direction)),
            ids.peer,
            std::string(state),
            std::move(doc),
            std::move(manifest),
            0};
}

void cancel_jobs(WorkerPool& pool, std::set<std::uint64_t>& jobs) {
    for (const auto job : jobs) pool.cancel(job);
    jobs.clear();
}

std::string random_hex(std::mt19937_64& random) {
    char text[33];
    std::snprintf(text, sizeof text, "%016llx%016llx", static_cast<unsigned long long>(random()),
                  static_cast<unsigned long long>(random()));
    return text;
}

void persist_row(const TransferContext& ctx, TransferRow row, std::function<void(bool)> then) {
    row.updated_ms = wall_clock_ms();
    ctx.persist([row = std::move(row)](Store& store) { store.save_transfer(row); },
                std::move(then));
}

OutgoingTransfer* TransferRegistry::outgoing_by_id(const std::string& id) {
    for (auto& [n, t] : outgoing) {
        if (t->id == id) return t.get();
    }
    return nullptr;
}

IncomingTransfer* TransferRegistry::incoming_by_id(const std::string& id) {
    for (auto& [n, t] : incoming) {
        if (t->id == id) return t.get();
    }
    return nullptr;
}

OutgoingTransfer* TransferRegistry::find_outgoing(std::uint64_t number) {
    const auto it = outgoing.find(number);
    return it == outgoing.end() ? nullptr : it->second.get();
}

IncomingTransfer* TransferRegistry::find_incoming(std::uint64_t number) {
    const auto it = incoming.find(number);
    return it == incoming.end() ? nullptr : it->second.get();
}

void TransferRegistry::forget_old() {
    std::size_t count = 0;
    for (const auto& [n, t] : outgoing) count += is_finished(t->state);
    for (const auto& [n, t] : incoming) count += is_finished(t->state);
    // Both maps are ordered by number, oldest first.
    auto out = outgoing.begin();
    auto in = incoming.begin();
    while (count > kFinishedKeptInMemory) {
        while (out != outgoing.end() && !is_finished(out->second->state)) ++out;
        while (in != incoming.end() && !is_finished(in->second->state)) ++in;
        if (out == outgoing.end() && in == incoming.end()) break;
        if (in == incoming.end() || (out != outgoing.end() && out->first < in->first)) {
            out = outgoing.erase(out);
        } else {
            in = incoming.erase(in);
        }
        --count;
    }
}

std::size_t TransferRegistry::active() const {
    std::size_t count = 0;
    for (const auto& [n, t] : outgoing) count += is_active(t->state);
    for (const auto& [n, t] : incoming) count += is_active(t->state);
    return count;
}

std::uint64_t TransferRegistry::named(const DecideRequest& request, std::string& why) const {
    if (request.id != 0 && (incoming.count(request.id) || outgoing.count(request.id)))
        return request.id;
    std::vector<std::uint64_t> found;
    if (!request.id_prefix.empty()) {
        for (const auto& [n, t] : outgoing)
            if (t->id.starts_with(request.id_prefix)) found.push_back(n);
        for (const auto& [n, t] : incoming)
            if (t->id.starts_with(request.id_prefix)) found.push_back(n);
    }
    if (found.size() == 1) return found.front();
    if (found.empty()) {
        why = "no transfer " + (request.id != 0 ? std::to_string(request.id) : request.id_prefix);
        return 0;
    }
    std::sort(found.begin(), found.end());
    why = request.id_prefix + " names " + std::to_string(found.size()) + " transfers (";
    for (std::size_t i = 0; i < found.size(); ++i)
        why += (i ? ", #" : "#") + std::to_string(found[i]);
    why += "): give the number or more digits";
    return 0;
}

}  // namespace chat
