#pragma once
// The safety number two people compare out of band to check that each
// daemon holds the other's real key (Signal's idea): 60 digits from both
// public keys, the same on both sides. Pure: the caller hashes (common/ has
// no crypto library), this sorts, frames and formats. Any thread.
//
//   first  = SHA-256("chatd safety number v1" || lower key || higher key)
//   second = SHA-256(first)
//   digits = 6 groups from first[0..30], then 6 from second[0..30]: each
//            group 5 bytes as a big-endian integer mod 100000, 5 digits
//   short  = first[0..4] as a big-endian integer mod 1000000, 6 digits
//
// One SHA-256 has 32 bytes, enough for 6 groups of 5 bytes: the second
// hash gives the other 6 (Signal takes 30 digits from each side's hash).
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "trust.hpp"

namespace chat {

inline constexpr std::string_view kSafetyNumberLabel = "chatd safety number v1";

// What `first` hashes: the label, then the two keys in byte order, so
// both sides hash the same bytes whichever key is theirs.
std::vector<std::uint8_t> safety_number_input(const KeyBytes& one, const KeyBytes& other);

struct SafetyNumber {
    std::string digits;      // "15879 26512 ..." : 12 groups of 5, one space apart
    std::string short_code;  // "668812"
    bool operator==(const SafetyNumber&) const = default;
};

SafetyNumber format_safety_number(const KeyDigest& first, const KeyDigest& second);

}  // namespace chat
