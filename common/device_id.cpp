#include "device_id.hpp"

#include <cstdio>

namespace chat {

namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::size_t kBase32Chars = 52;  // ceil(256 / 5)
constexpr std::size_t kQuarter = 13;      // base32 characters per check character
constexpr std::size_t kCheckedChars = kBase32Chars + kBase32Chars / kQuarter;  // 56
constexpr std::size_t kGroup = 7;  // characters per printed group

int codepoint(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= '2' && c <= '7') return c - '2' + 26;
    return -1;
}

std::string base32_of(const DeviceDigest& digest) {
    std::string out;
    out.reserve(kBase32Chars);
    unsigned buffer = 0;
    int bits = 0;
    for (const std::uint8_t byte : digest) {
        buffer = (buffer << 8) | byte;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out += kAlphabet[(buffer >> bits) & 31];
        }
    }
    if (bits > 0) out += kAlphabet[(buffer << (5 - bits)) & 31];
    return out;
}

// The digest in 52 valid base32 characters, or nullopt if the last one sets
// bits past the 256th: such text is not what format_device_id prints.
std::optional<DeviceDigest> digest_of(std::string_view base32) {
    DeviceDigest digest{};
    unsigned buffer = 0;
    int bits = 0;
    std::size_t filled = 0;
    for (const char c : base32) {
        buffer = (buffer << 5) | static_cast<unsigned>(codepoint(c));
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            digest[filled++] = static_cast<std::uint8_t>(buffer >> bits);
        }
    }
    if ((buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
    return digest;
}

std::string describe(char c) {
    if (c > ' ' && c < 0x7f) return std::string("'") + c + "'";
    char hex[16];
    std::snprintf(hex, sizeof hex, "byte 0x%02x", static_cast<unsigned char>(c));
    return hex;
}

// Uppercased, typos mended, dashes and spaces dropped; or the first
// character no device ID holds.
bool normalise(std::string_view text, std::string& out, std::string& error) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '-' || c == ' ') continue;
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        if (c == '0') c = 'O';
        if (c == '1') c = 'I';
        if (c == '8') c = 'B';
        if (codepoint(c) < 0) {
            error = "device ID has " + describe(text[i]) + " at position " + std::to_string(i + 1) +
                    ": only A-Z, 2-7, dashes and spaces belong in one";
            return false;
        }
        out += c;
    }
    return true;
}

}  // namespace

std::optional<char> luhn32_check_character(std::string_view base32) {
    constexpr int n = 32;
    int factor = 1;
    int sum = 0;
    for (const char c : base32) {
        const int point = codepoint(c);
        if (point < 0) return std::nullopt;
        const int addend = factor * point;
        factor = factor == 2 ? 1 : 2;
        sum += addend / n + addend % n;
    }
    return kAlphabet[(n - sum % n) % n];
}

std::string format_device_id(const DeviceDigest& digest) {
    const std::string base32 = base32_of(digest);
    std::string checked;
    for (std::size_t at = 0; at < kBase32Chars; at += kQuarter) {
        const std::string_view quarter = std::string_view(base32).substr(at, kQuarter);
        checked += quarter;
        checked += *luhn32_check_character(quarter);
    }
    std::string shown;
    for (std::size_t at = 0; at < kCheckedChars; at += kGroup) {
        if (at > 0) shown += '-';
        shown += checked.substr(at, kGroup);
    }
    return shown;
}

std::string short_device_id(const DeviceDigest& digest) {
    return base32_of(digest).substr(0, kGroup);
}

ParsedDeviceId parse_device_id(std::string_view text) {
    ParsedDeviceId parsed;
    std::string checked;
    if (!normalise(text, checked, parsed.error)) return parsed;
    if (checked.size() != kCheckedChars) {
        parsed.error = "device ID has " + std::to_string(checked.size()) +
                       " characters besides dashes and spaces, not 56 (8 groups of 7)";
        return parsed;
    }
    std::string base32;
    for (std::size_t q = 0; q < kBase32Chars / kQuarter; ++q) {
        const std::string_view quarter =
            std::string_view(checked).substr(q * (kQuarter + 1), kQuarter);
        if (checked[q * (kQuarter + 1) + kQuarter] != *luhn32_check_character(quarter)) {
            parsed.error = "device ID fails its check in groups " + std::to_string(2 * q + 1) +
                           "-" + std::to_string(2 * q + 2) + " of 8: a character there is mistyped";
            return parsed;
        }
        base32 += quarter;
    }
    parsed.digest = digest_of(base32);
    if (!parsed.digest)
        parsed.error =
            "device ID is not canonical: character 6 of group 8 sets bits past the digest's end";
    return parsed;
}

}  // namespace chat
