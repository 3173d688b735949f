#include "safety_number.hpp"

#include <algorithm>
#include <cstdio>

namespace chat {
namespace {

constexpr std::size_t kGroupBytes = 5;
constexpr std::size_t kGroupsPerDigest = 6;

// `bytes` bytes from `from` as a big-endian integer.
std::uint64_t big_endian(const std::uint8_t* from, std::size_t bytes) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < bytes; ++i) value = (value << 8) | from[i];
    return value;
}

std::string padded(std::uint64_t value, int width) {
    char text[24];
    std::snprintf(text, sizeof text, "%0*llu", width, static_cast<unsigned long long>(value));
    return text;
}

void append_groups(std::string& digits, const KeyDigest& digest) {
    for (std::size_t group = 0; group < kGroupsPerDigest; ++group) {
        if (!digits.empty()) digits += ' ';
        digits += padded(big_endian(digest.data() + group * kGroupBytes, kGroupBytes) % 100000, 5);
    }
}

}  // namespace

std::vector<std::uint8_t> safety_number_input(const KeyBytes& one, const KeyBytes& other) {
    const auto& low = std::min(one, other);
    const auto& high = std::max(one, other);
    std::vector<std::uint8_t> input(kSafetyNumberLabel.begin(), kSafetyNumberLabel.end());
    input.insert(input.end(), low.begin(), low.end());
    input.insert(input.end(), high.begin(), high.end());
    return input;
}

SafetyNumber format_safety_number(const KeyDigest& first, const KeyDigest& second) {
    SafetyNumber number;
    append_groups(number.digits, first);
    append_groups(number.digits, second);
    number.short_code = padded(big_endian(first.data(), 4) % 1000000, 6);
    return number;
}

}  // namespace chat
