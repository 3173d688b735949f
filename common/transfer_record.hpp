#pragma once
// What the store keeps of a transfer besides its manifest: the row's
// state name and its JSON document, to and from plain structs. The store
// and its schema see only strings; the manager turns a record into a live
// transfer and back. Pure codec, unit-tested (tests/unit/test_transfer_record.cpp).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dir_access.hpp"
#include "envelope.hpp"
#include "transfer_state.hpp"

namespace chat {

struct OutgoingRecord {
    OutgoingState state = OutgoingState::offered;
    std::string reason;
    std::uint64_t run = 1;
    std::uint64_t wire_bytes = 0;
    std::vector<std::string> placed;
    // Top-level names; rows older than the summary have none (nullopt).
    std::optional<std::vector<std::string>> names;
    std::size_t files = 0;    // the summary of a finished one
    std::uint64_t bytes = 0;  //
    bool operator==(const OutgoingRecord&) const = default;
};

struct IncomingRecord {
    IncomingState state = IncomingState::offered;
    std::uint64_t run = 1;
    std::string name;  // the sender's
    std::string reason;
    std::string peer_reason;
    std::string token;
    std::string dir;
    std::optional<std::int64_t> offered_ms;  // older rows: none
    TransferOffer offer;                     // offer.run is `run`
    std::set<std::size_t> verified;
    bool files_stamped = false;                               // older rows: false
    std::vector<std::pair<std::string, std::string>> placed;  // (offered, placed as)
    std::optional<UserIds> accepted_by;
    bool operator==(const IncomingRecord&) const;
};

std::string encode_record(const OutgoingRecord& record);  // the row's doc
std::string encode_record(const IncomingRecord& record);
// From a row's state and doc: nullopt if the doc is not a JSON object;
// throws (std::invalid_argument for a state of no such name, json's
// exceptions for a field that is missing or of the wrong type) for a row
// that is damaged.
std::optional<OutgoingRecord> decode_outgoing_record(std::string_view state, std::string_view doc);
std::optional<IncomingRecord> decode_incoming_record(std::string_view state, std::string_view doc);

// Whether a restored outgoing transfer needs its stored manifest: one that
// can still resume does (failed, or under way), and an old row without a
// summary to list.
bool needs_manifest(const OutgoingRecord& record);

}  // namespace chat
