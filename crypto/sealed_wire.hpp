#pragma once
// The sealed datagram wire (WIRE-v2.md): the six packet types every
// chatd-to-chatd UDP datagram is, their encoding and decoding, the cookie
// and mac2 of a responder under load, and the wire's timers and limits.
// Pure: no sockets, no threads. Decoding never throws: a bad packet comes
// back with an error and no fields.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "noise.hpp"

namespace chat::crypto {

enum class PacketType : std::uint8_t {
    xx_init = 0xF8,
    ik_init = 0xF9,
    response = 0xFA,
    xx_final = 0xFB,
    cookie = 0xFC,
    data = 0xFD,
};

// A byte that never starts (or occurs in) UTF-8: a packet is never plain text.
inline constexpr std::uint8_t kFirstPacketByte = 0xF8;
inline constexpr std::string_view kPrologue = "chatd sealed 2";

inline constexpr std::size_t kIndexLen = 4;
inline constexpr std::size_t kMac2Len = 16;
inline constexpr std::size_t kCookieLen = 16;
inline constexpr std::size_t kXxMsg1Len = 32;
inline constexpr std::size_t kIkMsg1Len = 96;
inline constexpr std::size_t kXxMsg2Len = 96;
inline constexpr std::size_t kIkMsg2Len = 48;
inline constexpr std::size_t kXxMsg3Len = 64;
inline constexpr std::size_t kXxInitLen = 1 + kIndexLen + kXxMsg1Len + kMac2Len;  // 53
inline constexpr std::size_t kIkInitLen = 1 + kIndexLen + kIkMsg1Len + kMac2Len;  // 117
inline constexpr std::size_t kXxResponseLen = 1 + 2 * kIndexLen + kXxMsg2Len;     // 105
inline constexpr std::size_t kIkResponseLen = 1 + 2 * kIndexLen + kIkMsg2Len;     // 57
inline constexpr std::size_t kXxFinalLen = 1 + kIndexLen + kXxMsg3Len;            // 69
inline constexpr std::size_t kCookiePacketLen = 1 + kIndexLen + kCookieLen;       // 21
inline constexpr std::size_t kDataHeaderLen = 1 + kIndexLen + 8;                  // 13
inline constexpr std::size_t kDataOverhead = kDataHeaderLen + kTagLen;            // 29

// WireGuard's timers, scaled.
inline constexpr std::chrono::milliseconds kRekeyAfter{120'000};
inline constexpr std::chrono::milliseconds kRejectAfter{180'000};
inline constexpr std::chrono::milliseconds kHandshakeRetryFirst{1'000};
inline constexpr std::chrono::milliseconds kHandshakeRetryMax{8'000};
inline constexpr std::chrono::milliseconds kCookieSecretLifetime{120'000};
// More handshake inits than this in the last second (all sources): busy.
inline constexpr unsigned kBusyInitsPerSecond = 64;
// A data counter from here on is refused.
inline constexpr std::uint64_t kRejectAfterCounter = std::uint64_t{1} << 60;

using Cookie = std::array<std::uint8_t, kCookieLen>;
using Mac2 = std::array<std::uint8_t, kMac2Len>;

enum class PacketError {
    none,
    empty,
    unknown_type,  // first byte not one of the six
    bad_length,    // wrong size for its type
    zero_index,    // an index of 0 is never chosen
};

// A decoded packet: views into the bytes given to decode_packet.
struct Packet {
    PacketError error = PacketError::none;
    PacketType type = PacketType::data;
    std::uint32_t sender_index = 0;    // inits, response
    std::uint32_t receiver_index = 0;  // response, xx_final, cookie, data
    std::uint64_t counter = 0;         // data
    ByteView noise;                    // the Noise handshake message
    ByteView mac2;                     // inits
    ByteView signed_part;              // inits: every byte before mac2
    Cookie cookie{};                   // cookie
    ByteView header;                   // data: the 13 bytes of AD
    ByteView ciphertext;               // data: AEAD ciphertext and tag
};

inline bool is_sealed_packet(std::string_view bytes) {
    return !bytes.empty() && static_cast<std::uint8_t>(bytes.front()) >= kFirstPacketByte;
}

inline ByteView as_bytes(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

Packet decode_packet(std::string_view bytes);

// An init with mac2 zero; `type` is xx_init or ik_init.
std::string encode_init(PacketType type, std::uint32_t sender_index, ByteView msg1);
std::string encode_response(std::uint32_t sender_index, std::uint32_t receiver_index,
                            ByteView msg2);
std::string encode_xx_final(std::uint32_t receiver_index, ByteView msg3);
std::string encode_cookie(std::uint32_t receiver_index, const Cookie& cookie);
// The data packet carrying `inner`, sealed with `send` at nonce `counter`.
void seal_data(CipherState& send, std::uint32_t receiver_index, std::uint64_t counter,
               std::string_view inner, std::string& out);
// The inner datagram of a decoded data packet; nullopt if the MAC fails.
std::optional<Bytes> open_data(CipherState& receive, const Packet& data);

// HMAC-SHA256(secret, source)[0..16]: source is "ip:port" as endpoint_key writes it.
Cookie make_cookie(const Key& secret, std::string_view source);
// HMAC-SHA256(key = cookie zero-padded to 32, the init's bytes before mac2)[0..16].
Mac2 make_mac2(const Cookie& cookie, ByteView signed_part);
// Sets an encoded init's mac2 (its last 16 bytes) from a cookie.
void stamp_mac2(std::string& init, const Cookie& cookie);
// Constant time: is the decoded init's mac2 the one this cookie makes?
bool mac2_matches(const Cookie& cookie, const Packet& init);

// SHA-256 of a public key: the digest trust pins and fingerprints use.
Key key_digest(const Key& public_key);

// A random nonzero session index.
std::uint32_t random_index();
Key random_key();

}  // namespace chat::crypto
