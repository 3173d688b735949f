#include "stream_seal.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>

namespace chat::crypto {
namespace {

constexpr char kMagic[4] = {'C', 'H', 'S', '1'};
constexpr char kLabel[] = "chatd stream 1";
constexpr std::uint8_t kAllCiphers = static_cast<std::uint8_t>(StreamCipher::chacha20poly1305) |
                                     static_cast<std::uint8_t>(StreamCipher::aes256gcm);

static_assert(sizeof(crypto_aead_aes256gcm_state) == 512);

void fail(const std::string& why) { throw StreamSealError(why); }

bool valid_cipher(std::uint8_t c) {
    return c == static_cast<std::uint8_t>(StreamCipher::chacha20poly1305) ||
           c == static_cast<std::uint8_t>(StreamCipher::aes256gcm);
}

// 32 zero bits, then the record's number as 64 bits big-endian (12 bytes,
// both ciphers' nonce size).
std::array<std::uint8_t, 12> nonce_of(std::uint64_t n) {
    std::array<std::uint8_t, 12> out{};
    for (std::size_t i = 0; i < 8; ++i) out[11 - i] = static_cast<std::uint8_t>(n >> (8 * i));
    return out;
}

void put_u32(char* at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) at[i] = static_cast<char>(v >> (24 - 8 * i));
}

std::uint32_t get_u32(const char* at) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<std::uint8_t>(at[i]);
    return v;
}

// A record's number, taken: the last one (2^64-1) is never used, as in Noise.
std::uint64_t take_counter(StreamDirection& d) {
    if (d.counter == UINT64_MAX) fail("the stream used up its record numbers");
    return d.counter++;
}

std::string to_hex(const std::uint8_t* data, std::size_t size) {
    std::string out(size * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), data, size);
    out.pop_back();
    return out;
}

Key key_from_hex(std::string_view hex) {
    Key key{};
    std::size_t length = 0;
    if (hex.size() != 2 * kKeyLen ||
        sodium_hex2bin(key.data(), key.size(), hex.data(), hex.size(), nullptr, &length, nullptr) !=
            0 ||
        length != kKeyLen)
        fail("bad stream keys");
    return key;
}

}  // namespace

const char* cipher_name(StreamCipher cipher) {
    return cipher == StreamCipher::aes256gcm ? "aes-256-gcm" : "chacha20-poly1305";
}

std::uint8_t ciphers_available() {
    ensure_sodium();
    std::uint8_t mask = static_cast<std::uint8_t>(StreamCipher::chacha20poly1305);
    if (crypto_aead_aes256gcm_is_available())
        mask |= static_cast<std::uint8_t>(StreamCipher::aes256gcm);
    return mask;
}

std::optional<StreamCipher> pick_cipher(std::uint8_t offered) {
    const std::uint8_t both = offered & ciphers_available();
    if (both & static_cast<std::uint8_t>(StreamCipher::aes256gcm)) return StreamCipher::aes256gcm;
    if (both & static_cast<std::uint8_t>(StreamCipher::chacha20poly1305))
        return StreamCipher::chacha20poly1305;
    return std::nullopt;
}

StreamHello StreamHello::make(const std::string& transfer) {
    StreamHello hello;
    hello.ciphers = ciphers_available();
    hello.transfer = transfer;
    randombytes_buf(hello.nonce.data(), hello.nonce.size());
    return hello;
}

std::array<std::uint8_t, kHelloLen> StreamHello::encode() const {
    if (transfer.size() != kTransferIdLen) fail("a transfer id is 32 hex digits");
    std::array<std::uint8_t, kHelloLen> out{};
    std::memcpy(out.data(), kMagic, 4);
    out[4] = ciphers;
    std::memcpy(out.data() + 5, transfer.data(), kTransferIdLen);
    std::memcpy(out.data() + 5 + kTransferIdLen, nonce.data(), kStreamNonceLen);
    return out;
}

StreamHello StreamHello::decode(ByteView bytes) {
    if (bytes.size() != kHelloLen || std::memcmp(bytes.data(), kMagic, 4) != 0)
        fail("not a sealed transfer stream");
    StreamHello hello;
    hello.ciphers = bytes[4];
    if ((hello.ciphers & kAllCiphers) == 0) fail("no cipher offered");
    hello.transfer.assign(reinterpret_cast<const char*>(bytes.data() + 5), kTransferIdLen);
    if (!std::all_of(hello.transfer.begin(), hello.transfer.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }))
        fail("a bad transfer id");
    std::memcpy(hello.nonce.data(), bytes.data() + 5 + kTransferIdLen, kStreamNonceLen);
    return hello;
}

StreamReply StreamReply::make(StreamCipher cipher) {
    StreamReply reply;
    reply.cipher = cipher;
    randombytes_buf(reply.nonce.data(), reply.nonce.size());
    return reply;
}

std::array<std::uint8_t, kReplyLen> StreamReply::encode() const {
    std::array<std::uint8_t, kReplyLen> out{};
    out[0] = static_cast<std::uint8_t>(cipher);
    std::memcpy(out.data() + 1, nonce.data(), kStreamNonceLen);
    return out;
}

StreamReply StreamReply::decode(ByteView bytes) {
    if (bytes.size() != kReplyLen || !valid_cipher(bytes[0])) fail("a bad stream reply");
    StreamReply reply;
    reply.cipher = static_cast<StreamCipher>(bytes[0]);
    if (!(ciphers_available() & bytes[0])) fail("the peer picked a cipher this CPU lacks");
    std::memcpy(reply.nonce.data(), bytes.data() + 1, kStreamNonceLen);
    return reply;
}

StreamKeys StreamKeys::derive(std::string_view secret, const StreamHello& hello,
                              const StreamReply& reply, bool client) {
    ensure_sodium();
    if (secret.empty()) fail("no stream secret");
    const auto hello_bytes = hello.encode();
    const auto reply_bytes = reply.encode();
    Key transcript{};
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, reinterpret_cast<const std::uint8_t*>(kLabel), sizeof kLabel - 1);
    crypto_hash_sha256_update(&h, hello_bytes.data(), hello_bytes.size());
    crypto_hash_sha256_update(&h, reply_bytes.data(), reply_bytes.size());
    crypto_hash_sha256_final(&h, transcript.data());
    auto [to_server, to_client] = hkdf2(
        transcript, ByteView(reinterpret_cast<const std::uint8_t*>(secret.data()), secret.size()));
    StreamKeys keys;
    keys.send = {reply.cipher, client ? to_server : to_client, 0};
    keys.receive = {reply.cipher, client ? to_client : to_server, 0};
    sodium_memzero(to_server.data(), to_server.size());
    sodium_memzero(to_client.data(), to_client.size());
    return keys;
}

std::string StreamKeys::encode() const {
    return std::to_string(static_cast<int>(send.cipher)) + ":" +
           to_hex(send.key.data(), send.key.size()) + ":" + std::to_string(send.counter) + ":" +
           to_hex(receive.key.data(), receive.key.size()) + ":" + std::to_string(receive.counter);
}

StreamKeys StreamKeys::decode(std::string_view text) {
    std::vector<std::string_view> parts;
    for (std::size_t at = 0;;) {
        const std::size_t colon = text.find(':', at);
        parts.push_back(text.substr(at, colon == std::string_view::npos ? colon : colon - at));
        if (colon == std::string_view::npos) break;
        at = colon + 1;
    }
    if (parts.size() != 5 || parts[0].size() != 1 || !valid_cipher(std::uint8_t(parts[0][0] - '0')))
        fail("bad stream keys");
    const auto number = [](std::string_view s) {
        std::uint64_t n = 0;
        if (s.empty() || s.size() > 19) fail("bad stream keys");
        for (const char c : s) {
            if (c < '0' || c > '9') fail("bad stream keys");
            n = n * 10 + static_cast<std::uint64_t>(c - '0');
        }
        return n;
    };
    const auto cipher = static_cast<StreamCipher>(parts[0][0] - '0');
    StreamKeys keys;
    keys.send = {cipher, key_from_hex(parts[1]), number(parts[2])};
    keys.receive = {cipher, key_from_hex(parts[3]), number(parts[4])};
    return keys;
}

StreamKeys::~StreamKeys() {
    sodium_memzero(send.key.data(), send.key.size());
    sodium_memzero(receive.key.data(), receive.key.size());
}

RecordSealer::RecordSealer(const StreamDirection& direction) : direction_(direction) {
    ensure_sodium();
    if (direction_.cipher == StreamCipher::aes256gcm) {
        if (!crypto_aead_aes256gcm_is_available()) fail("AES-256-GCM is not available here");
        crypto_aead_aes256gcm_beforenm(
            reinterpret_cast<crypto_aead_aes256gcm_state*>(aes_state_.data()),
            direction_.key.data());
    }
}

RecordSealer::~RecordSealer() {
    sodium_memzero(direction_.key.data(), direction_.key.size());
    sodium_memzero(aes_state_.data(), aes_state_.size());
}

void RecordSealer::seal(const char* data, std::size_t size, RecordType type,
                        std::vector<char>& out) {
    std::size_t done = 0;
    do {
        const std::size_t take = std::min(kMaxRecordData, size - done);
        const std::size_t body = take + 1 + kTagLen;
        const std::size_t at = out.size();
        out.resize(at + kRecordHeaderLen + body);
        char* header = out.data() + at;
        put_u32(header, static_cast<std::uint32_t>(body));
        auto* plain = reinterpret_cast<std::uint8_t*>(header + kRecordHeaderLen);
        if (take) std::memcpy(plain, data + done, take);
        plain[take] = static_cast<std::uint8_t>(type);
        const auto nonce = nonce_of(take_counter(direction_));
        const auto* ad = reinterpret_cast<const std::uint8_t*>(header);
        std::uint8_t* tag = plain + take + 1;
        // In place: the ciphertext overwrites the plaintext just copied.
        if (direction_.cipher == StreamCipher::aes256gcm) {
            crypto_aead_aes256gcm_encrypt_detached_afternm(
                plain, tag, nullptr, plain, take + 1, ad, kRecordHeaderLen, nullptr, nonce.data(),
                reinterpret_cast<const crypto_aead_aes256gcm_state*>(aes_state_.data()));
        } else {
            crypto_aead_chacha20poly1305_ietf_encrypt_detached(plain, tag, nullptr, plain, take + 1,
                                                               ad, kRecordHeaderLen, nullptr,
                                                               nonce.data(), direction_.key.data());
        }
        done += take;
    } while (done < size);
}

RecordOpener::RecordOpener(const StreamDirection& direction) : direction_(direction) {
    ensure_sodium();
    if (direction_.cipher == StreamCipher::aes256gcm) {
        if (!crypto_aead_aes256gcm_is_available()) fail("AES-256-GCM is not available here");
        crypto_aead_aes256gcm_beforenm(
            reinterpret_cast<crypto_aead_aes256gcm_state*>(aes_state_.data()),
            direction_.key.data());
    }
}

RecordOpener::~RecordOpener() {
    sodium_memzero(direction_.key.data(), direction_.key.size());
    sodium_memzero(aes_state_.data(), aes_state_.size());
}

std::size_t RecordOpener::body_length(const char* header) {
    const std::uint32_t body = get_u32(header);
    if (body < 1 + kTagLen || body > kMaxRecordBody) fail("a sealed record of a bad length");
    return body;
}

std::pair<RecordType, std::size_t> RecordOpener::open(const char* header, const char* body,
                                                      std::size_t body_size, char* out) {
    if (closed_) fail("a sealed record after the stream's close");
    if (body_size != body_length(header)) fail("a sealed record of a bad length");
    const std::size_t plain_size = body_size - kTagLen;  // data + type
    const auto nonce = nonce_of(direction_.counter);
    const auto* cipher = reinterpret_cast<const std::uint8_t*>(body);
    const auto* tag = cipher + plain_size;
    const auto* ad = reinterpret_cast<const std::uint8_t*>(header);
    auto* plain = reinterpret_cast<std::uint8_t*>(out);
    int rc = 0;
    if (direction_.cipher == StreamCipher::aes256gcm) {
        rc = crypto_aead_aes256gcm_decrypt_detached_afternm(
            plain, nullptr, cipher, plain_size, tag, ad, kRecordHeaderLen, nonce.data(),
            reinterpret_cast<const crypto_aead_aes256gcm_state*>(aes_state_.data()));
    } else {
        rc = crypto_aead_chacha20poly1305_ietf_decrypt_detached(
            plain, nullptr, cipher, plain_size, tag, ad, kRecordHeaderLen, nonce.data(),
            direction_.key.data());
    }
    if (rc != 0) fail("a sealed record failed authentication");
    take_counter(direction_);
    const std::uint8_t type = plain[plain_size - 1];
    if (type > static_cast<std::uint8_t>(RecordType::close)) fail("a sealed record of a bad type");
    if (type == static_cast<std::uint8_t>(RecordType::close)) {
        if (plain_size != 1) fail("a close record with data");
        closed_ = true;
    }
    return {static_cast<RecordType>(type), plain_size - 1};
}

}  // namespace chat::crypto
