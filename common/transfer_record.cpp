#include "transfer_record.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace chat {
namespace {

using nlohmann::json;

// Replaces bad UTF-8 rather than failing: a reason may quote a peer.
std::string dump(const json& doc) {
    return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

template <typename State>
State state_named(std::optional<State> state, std::string_view name) {
    if (!state) throw std::invalid_argument("no transfer state '" + std::string(name) + "'");
    return *state;
}

// What every row has: a doc that is an object (else nullopt), a state of
// the direction's, a reason and a run.
template <typename Record, typename State>
std::optional<Record> start_record(std::optional<State> state, std::string_view name,
                                   std::string_view text, json& doc) {
    doc = json::parse(text, nullptr, false);
    if (!doc.is_object()) return std::nullopt;
    Record r;
    r.state = state_named(state, name);
    r.reason = doc.value("reason", "");
    r.run = doc.value("run", std::uint64_t{1});
    return r;
}

}  // namespace

bool IncomingRecord::operator==(const IncomingRecord& o) const {
    const auto ids = [](const std::optional<UserIds>& u) {
        return u ? std::optional(std::tie(u->uid, u->gid, u->groups)) : std::nullopt;
    };
    return std::tie(state, run, name, reason, peer_reason, token, dir, offered_ms, offer, verified,
                    files_stamped, placed) ==
               std::tie(o.state, o.run, o.name, o.reason, o.peer_reason, o.token, o.dir,
                        o.offered_ms, o.offer, o.verified, o.files_stamped, o.placed) &&
           ids(accepted_by) == ids(o.accepted_by);
}

std::string encode_record(const OutgoingRecord& r) {
    return dump({{"run", r.run},
                 {"reason", r.reason},
                 {"wire_bytes", r.wire_bytes},
                 {"placed", r.placed},
                 {"names", r.names.value_or(std::vector<std::string>{})},
                 {"files", r.files},
                 {"bytes", r.bytes}});
}

std::string encode_record(const IncomingRecord& r) {
    json placed = json::array();
    for (const auto& [offered, name] : r.placed) placed.push_back({offered, name});
    json doc = {{"run", r.run},
                {"name", r.name},
                {"reason", r.reason},
                {"peer_reason", r.peer_reason},
                {"token", r.token},
                {"dir", r.dir},
                {"offer",
                 {{"files", r.offer.files},
                  {"bytes", r.offer.bytes},
                  {"entries", r.offer.entries},
                  {"names", r.offer.names}}},
                {"verified", r.verified},
                {"files_stamped", r.files_stamped},
                {"placed", placed}};
    if (r.offered_ms) doc["offered_ms"] = *r.offered_ms;
    if (r.accepted_by) {
        doc["accepted_by"] = {{"uid", r.accepted_by->uid},
                              {"gid", r.accepted_by->gid},
                              {"groups", r.accepted_by->groups}};
    }
    return dump(doc);
}

std::optional<OutgoingRecord> decode_outgoing_record(std::string_view state,
                                                     std::string_view text) {
    json doc;
    auto record = start_record<OutgoingRecord>(outgoing_state_from_string(state), state, text, doc);
    if (!record) return std::nullopt;
    OutgoingRecord& r = *record;
    r.wire_bytes = doc.value("wire_bytes", std::uint64_t{0});
    r.placed = doc.value("placed", std::vector<std::string>{});
    r.bytes = doc.value("bytes", std::uint64_t{0});
    r.files = doc.value("files", std::size_t{0});
    if (doc.contains("names")) r.names = doc.at("names").get<std::vector<std::string>>();
    return record;
}

std::optional<IncomingRecord> decode_incoming_record(std::string_view state,
                                                     std::string_view text) {
    json doc;
    auto record = start_record<IncomingRecord>(incoming_state_from_string(state), state, text, doc);
    if (!record) return std::nullopt;
    IncomingRecord& r = *record;
    r.name = doc.value("name", "");
    r.peer_reason = doc.value("peer_reason", "");
    r.token = doc.value("token", "");
    r.dir = doc.value("dir", "");
    if (const auto by = doc.find("accepted_by"); by != doc.end()) {
        r.accepted_by = UserIds{by->at("uid").get<uid_t>(), by->at("gid").get<gid_t>(),
                                by->at("groups").get<std::vector<gid_t>>()};
    }
    if (const auto at = doc.find("offered_ms"); at != doc.end())
        r.offered_ms = at->get<std::int64_t>();
    const json& offer = doc.at("offer");
    r.offer = {offer.at("files").get<std::uint64_t>(), offer.at("bytes").get<std::uint64_t>(),
               offer.at("entries").get<std::uint64_t>(),
               offer.at("names").get<std::vector<std::string>>(), r.run};
    for (const auto& p : doc.value("placed", json::array()))
        r.placed.emplace_back(p.at(0).get<std::string>(), p.at(1).get<std::string>());
    for (const auto& i : doc.value("verified", json::array()))
        r.verified.insert(i.get<std::size_t>());
    r.files_stamped = doc.value("files_stamped", false);
    return record;
}

bool needs_manifest(const OutgoingRecord& record) {
    return record.state == OutgoingState::failed || !is_finished(record.state) || !record.names;
}

}  // namespace chat
