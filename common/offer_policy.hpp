#pragma once
// What the receiving side does with a transfer offered to it, decided from
// the config alone: refused outright, accepted at once, or left for a
// person (`chatcli accept`). Pure logic, unit-tested
// (tests/unit/test_offer_policy.cpp); the daemon acts on the verdict.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config.hpp"

namespace chat {

// transfer.accept: ask a person, accept from trusted peers, accept all.
enum class AcceptPolicy { ask, trusted, all };
std::string_view to_string(AcceptPolicy policy);
std::optional<AcceptPolicy> accept_policy_from_string(std::string_view name);

// Why a new offer of `bytes` is refused at once (over transfer.max_bytes),
// as the sender and the log hear it; nullopt if it may be considered.
std::optional<std::string> offer_refusal(const Config::Transfer& policy, std::uint64_t bytes);

// Whether an offer from `peer` (its HOST:PORT key) is accepted without
// asking: accept "all", or "trusted" with the peer named in
// transfer.trusted (by alias, HOST:PORT or HOST alone).
bool accepts_without_asking(const Config& config, const std::string& peer);

}  // namespace chat
