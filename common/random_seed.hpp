#pragma once
// One way to seed the engines that make ids (message ids, transfer ids):
// 64 bits from std::random_device. Not for keys: those come from libsodium.
#include <cstdint>
#include <random>

namespace chat {

inline std::mt19937_64 seeded_engine() {
    std::random_device device;
    const std::uint64_t low = device();
    const std::uint64_t high = device();
    return std::mt19937_64(low ^ (high << 32));
}

}  // namespace chat
