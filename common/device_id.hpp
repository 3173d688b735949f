#pragma once
// Device IDs, the fingerprints people compare: Syncthing's format, byte for
// byte. The 32-byte SHA-256 digest of a public key in base32 (RFC 4648, no
// padding: 52 characters), each quarter of 13 followed by a Luhn mod 32 check
// character, shown as 8 groups of 7 joined by '-'. The caller hashes, so this
// stays free of any crypto library. Pure functions, any thread.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chat {

inline constexpr std::size_t kDeviceDigestSize = 32;
using DeviceDigest = std::array<std::uint8_t, kDeviceDigestSize>;

// "P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2"
std::string format_device_id(const DeviceDigest& digest);
// The first group of 7, for listings (Syncthing's short ID).
std::string short_device_id(const DeviceDigest& digest);

// Either a digest or an error a person can act on.
struct ParsedDeviceId {
    std::optional<DeviceDigest> digest;
    std::string error;
};
// Takes the printed form or the same characters with dashes or spaces
// anywhere or nowhere, in either case; 0, 1 and 8 are read as O, I and B
// (base32 has none of them, people type them anyway), as Syncthing does.
// The check characters must all be right: no form without them is taken.
ParsedDeviceId parse_device_id(std::string_view text);

// Syncthing's luhn32: the check character for base32 text. nullopt if the
// text holds a character outside A-Z, 2-7.
std::optional<char> luhn32_check_character(std::string_view base32);

}  // namespace chat
