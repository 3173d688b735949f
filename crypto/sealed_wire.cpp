#include "sealed_wire.hpp"

#include <sodium.h>

#include <algorithm>

namespace chat::crypto {
namespace {

void put_u32(std::string& out, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void put_u64(std::string& out, std::uint64_t value) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void put_bytes(std::string& out, ByteView bytes) {
    out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

std::uint64_t get_le(ByteView bytes, std::size_t at, std::size_t width) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < width; ++i) value |= std::uint64_t{bytes[at + i]} << (8 * i);
    return value;
}

std::uint32_t get_u32(ByteView bytes, std::size_t at) {
    return static_cast<std::uint32_t>(get_le(bytes, at, 4));
}

Packet failed(PacketError error) {
    Packet p;
    p.error = error;
    return p;
}

Key hmac_sha256(ByteView key, ByteView message) {
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, key.data(), key.size());
    crypto_auth_hmacsha256_update(&state, message.data(), message.size());
    Key out;
    crypto_auth_hmacsha256_final(&state, out.data());
    sodium_memzero(&state, sizeof state);
    return out;
}

// Each type's exact length (data: its least), or 0 for an unknown type.
bool length_fits(PacketType type, std::size_t size) {
    switch (type) {
        case PacketType::xx_init:
            return size == kXxInitLen;
        case PacketType::ik_init:
            return size == kIkInitLen;
        case PacketType::response:
            return size == kXxResponseLen || size == kIkResponseLen;
        case PacketType::xx_final:
            return size == kXxFinalLen;
        case PacketType::cookie:
            return size == kCookiePacketLen;
        case PacketType::data:
            return size >= kDataOverhead;
    }
    return false;
}

// The fields after the type byte, once the length is known to fit.
void read_fields(Packet& p, ByteView b) {
    const std::size_t n = b.size();
    switch (p.type) {
        case PacketType::xx_init:
        case PacketType::ik_init:
            p.sender_index = get_u32(b, 1);
            p.noise = b.subspan(5, n - 5 - kMac2Len);
            p.mac2 = b.subspan(n - kMac2Len);
            p.signed_part = b.first(n - kMac2Len);
            break;
        case PacketType::response:
            p.sender_index = get_u32(b, 1);
            p.receiver_index = get_u32(b, 5);
            p.noise = b.subspan(9);
            break;
        case PacketType::xx_final:
            p.receiver_index = get_u32(b, 1);
            p.noise = b.subspan(5);
            break;
        case PacketType::cookie:
            p.receiver_index = get_u32(b, 1);
            std::copy_n(b.begin() + 5, kCookieLen, p.cookie.begin());
            break;
        case PacketType::data:
            p.receiver_index = get_u32(b, 1);
            p.counter = get_le(b, 5, 8);
            p.header = b.first(kDataHeaderLen);
            p.ciphertext = b.subspan(kDataHeaderLen);
            break;
    }
}

bool has_sender_index(PacketType type) {
    return type == PacketType::xx_init || type == PacketType::ik_init ||
           type == PacketType::response;
}

}  // namespace

Packet decode_packet(std::string_view bytes) {
    if (bytes.empty()) return failed(PacketError::empty);
    const ByteView b = as_bytes(bytes);
    if (b[0] < kFirstPacketByte || b[0] > static_cast<std::uint8_t>(PacketType::data))
        return failed(PacketError::unknown_type);
    Packet p;
    p.type = static_cast<PacketType>(b[0]);
    if (!length_fits(p.type, b.size())) return failed(PacketError::bad_length);
    read_fields(p, b);
    const bool zero_sender = has_sender_index(p.type) && p.sender_index == 0;
    const bool zero_receiver =
        p.type != PacketType::xx_init && p.type != PacketType::ik_init && p.receiver_index == 0;
    if (zero_sender || zero_receiver) return failed(PacketError::zero_index);
    return p;
}

std::string encode_init(PacketType type, std::uint32_t sender_index, ByteView msg1) {
    std::string out;
    out.reserve(1 + kIndexLen + msg1.size() + kMac2Len);
    out.push_back(static_cast<char>(type));
    put_u32(out, sender_index);
    put_bytes(out, msg1);
    out.append(kMac2Len, '\0');
    return out;
}

std::string encode_response(std::uint32_t sender_index, std::uint32_t receiver_index,
                            ByteView msg2) {
    std::string out(1, static_cast<char>(PacketType::response));
    put_u32(out, sender_index);
    put_u32(out, receiver_index);
    put_bytes(out, msg2);
    return out;
}

std::string encode_xx_final(std::uint32_t receiver_index, ByteView msg3) {
    std::string out(1, static_cast<char>(PacketType::xx_final));
    put_u32(out, receiver_index);
    put_bytes(out, msg3);
    return out;
}

std::string encode_cookie(std::uint32_t receiver_index, const Cookie& cookie) {
    std::string out(1, static_cast<char>(PacketType::cookie));
    put_u32(out, receiver_index);
    put_bytes(out, cookie);
    return out;
}

void seal_data(CipherState& send, std::uint32_t receiver_index, std::uint64_t counter,
               std::string_view inner, std::string& out) {
    out.clear();
    out.push_back(static_cast<char>(PacketType::data));
    put_u32(out, receiver_index);
    put_u64(out, counter);
    send.set_nonce(counter);
    const Bytes sealed = send.encrypt_with_ad(as_bytes(out), as_bytes(inner));
    put_bytes(out, sealed);
}

std::optional<Bytes> open_data(CipherState& receive, const Packet& data) {
    if (data.type != PacketType::data || data.error != PacketError::none) return std::nullopt;
    receive.set_nonce(data.counter);
    try {
        return receive.decrypt_with_ad(data.header, data.ciphertext);
    } catch (const NoiseError&) {
        return std::nullopt;
    }
}

Cookie make_cookie(const Key& secret, std::string_view source) {
    const Key mac = hmac_sha256(secret, as_bytes(source));
    Cookie cookie;
    std::copy_n(mac.begin(), kCookieLen, cookie.begin());
    return cookie;
}

Mac2 make_mac2(const Cookie& cookie, ByteView signed_part) {
    Key padded{};
    std::copy(cookie.begin(), cookie.end(), padded.begin());
    const Key mac = hmac_sha256(padded, signed_part);
    Mac2 mac2;
    std::copy_n(mac.begin(), kMac2Len, mac2.begin());
    return mac2;
}

void stamp_mac2(std::string& init, const Cookie& cookie) {
    if (init.size() < kMac2Len) return;
    const std::size_t signed_len = init.size() - kMac2Len;
    const Mac2 mac2 = make_mac2(cookie, as_bytes(std::string_view(init).substr(0, signed_len)));
    std::copy(mac2.begin(), mac2.end(), init.begin() + static_cast<std::ptrdiff_t>(signed_len));
}

bool mac2_matches(const Cookie& cookie, const Packet& init) {
    if (init.mac2.size() != kMac2Len) return false;
    const Mac2 expected = make_mac2(cookie, init.signed_part);
    return sodium_memcmp(expected.data(), init.mac2.data(), kMac2Len) == 0;
}

Key key_digest(const Key& public_key) {
    ensure_sodium();
    Key digest;
    crypto_hash_sha256(digest.data(), public_key.data(), public_key.size());
    return digest;
}

std::uint32_t random_index() {
    ensure_sodium();
    std::uint32_t index = 0;
    while (index == 0) randombytes_buf(&index, sizeof index);
    return index;
}

Key random_key() {
    ensure_sodium();
    Key key;
    randombytes_buf(key.data(), key.size());
    return key;
}

}  // namespace chat::crypto
