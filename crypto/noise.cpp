#include "noise.hpp"

#include <sodium.h>

#include <algorithm>
#include <limits>

namespace chat::crypto {
namespace {

constexpr std::uint64_t kMaxNonce = std::numeric_limits<std::uint64_t>::max();

[[noreturn]] void fail(NoiseErrorKind kind, const std::string& text) {
    throw NoiseError(kind, "noise: " + text);
}

template <typename T>
void wipe(T& secret) {
    sodium_memzero(secret.data(), secret.size() * sizeof(secret[0]));
}

// HMAC-HASH(key, data_1 || data_2) with HMAC-SHA256 (RFC 2104).
Key hmac(const Key& key, ByteView first, ByteView second = {}) {
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, key.data(), key.size());
    crypto_auth_hmacsha256_update(&state, first.data(), first.size());
    crypto_auth_hmacsha256_update(&state, second.data(), second.size());
    Key out;
    crypto_auth_hmacsha256_final(&state, out.data());
    sodium_memzero(&state, sizeof state);
    return out;
}

// Section 4.3: HKDF(chaining_key, input_key_material, num_outputs), built
// from HMAC-HASH exactly as written there (libsodium 1.0.18 has no HKDF).
template <std::size_t N>
std::array<Key, N> hkdf(const Key& chaining_key, ByteView input_key_material) {
    static_assert(N == 2 || N == 3);
    Key temp_key = hmac(chaining_key, input_key_material);
    std::array<Key, N> outputs;
    std::uint8_t counter = 1;
    outputs[0] = hmac(temp_key, ByteView(&counter, 1));
    for (std::size_t i = 1; i < N; ++i) {
        counter = static_cast<std::uint8_t>(i + 1);
        outputs[i] = hmac(temp_key, outputs[i - 1], ByteView(&counter, 1));
    }
    wipe(temp_key);
    return outputs;
}

// 32 zero bits, then n as 64 bits little-endian.
std::array<std::uint8_t, crypto_aead_chacha20poly1305_IETF_NPUBBYTES> nonce_bytes(std::uint64_t n) {
    std::array<std::uint8_t, crypto_aead_chacha20poly1305_IETF_NPUBBYTES> out{};
    for (std::size_t i = 0; i < 8; ++i) out[4 + i] = static_cast<std::uint8_t>(n >> (8 * i));
    return out;
}

Bytes aead_encrypt(const Key& key, std::uint64_t n, ByteView ad, ByteView plaintext) {
    Bytes out(plaintext.size() + kTagLen);
    unsigned long long out_len = 0;
    const auto nonce = nonce_bytes(n);
    crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &out_len, plaintext.data(),
                                              plaintext.size(), ad.data(), ad.size(), nullptr,
                                              nonce.data(), key.data());
    out.resize(out_len);
    return out;
}

}  // namespace

std::array<Key, 2> hkdf2(const Key& chaining_key, ByteView input_key_material) {
    return hkdf<2>(chaining_key, input_key_material);
}

void ensure_sodium() {
    if (sodium_init() < 0) fail(NoiseErrorKind::bad_key, "libsodium failed to initialise");
}

KeyPair KeyPair::generate() {
    ensure_sodium();
    Key private_key;
    randombytes_buf(private_key.data(), private_key.size());
    KeyPair pair = from_private(private_key);
    wipe(private_key);
    return pair;
}

KeyPair KeyPair::from_private(const Key& private_key) {
    ensure_sodium();
    KeyPair pair;
    pair.private_key = private_key;
    crypto_scalarmult_base(pair.public_key.data(), pair.private_key.data());
    return pair;
}

KeyPair::~KeyPair() { wipe(private_key); }

// --- CipherState ---

CipherState::~CipherState() { wipe(key_); }

void CipherState::initialize_key(const Key& key) {
    key_ = key;
    has_key_ = true;
    nonce_ = 0;
}

Bytes CipherState::encrypt_with_ad(ByteView ad, ByteView plaintext) {
    if (!has_key_) return Bytes(plaintext.begin(), plaintext.end());
    if (nonce_ == kMaxNonce) fail(NoiseErrorKind::nonce_exhausted, "nonce exhausted; rekey");
    if (plaintext.size() + kTagLen > kMaxMessageLen)
        fail(NoiseErrorKind::bad_length, "plaintext too long for one Noise message");
    Bytes out = aead_encrypt(key_, nonce_, ad, plaintext);
    ++nonce_;
    return out;
}

Bytes CipherState::decrypt_with_ad(ByteView ad, ByteView ciphertext) {
    if (!has_key_) return Bytes(ciphertext.begin(), ciphertext.end());
    if (nonce_ == kMaxNonce) fail(NoiseErrorKind::nonce_exhausted, "nonce exhausted; rekey");
    if (ciphertext.size() < kTagLen)
        fail(NoiseErrorKind::bad_length, "ciphertext shorter than its 16-byte tag");
    if (ciphertext.size() > kMaxMessageLen)
        fail(NoiseErrorKind::bad_length, "ciphertext longer than a Noise message");
    Bytes out(ciphertext.size() - kTagLen);
    unsigned long long out_len = 0;
    const auto nonce = nonce_bytes(nonce_);
    if (crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), &out_len, nullptr, ciphertext.data(),
                                                  ciphertext.size(), ad.data(), ad.size(),
                                                  nonce.data(), key_.data()) != 0)
        fail(NoiseErrorKind::bad_mac, "bad MAC: message tampered, replayed or for another key");
    out.resize(out_len);
    ++nonce_;
    return out;
}

void CipherState::rekey() {
    if (!has_key_) fail(NoiseErrorKind::bad_key, "rekey without a key");
    const Key zeros{};
    Bytes sealed = aead_encrypt(key_, kMaxNonce, {}, zeros);
    std::copy_n(sealed.begin(), kKeyLen, key_.begin());
    wipe(sealed);
}

// --- SymmetricState ---

SymmetricState::SymmetricState(std::string_view protocol_name) {
    ensure_sodium();
    // A name of at most HASHLEN bytes is zero-padded, a longer one hashed.
    if (protocol_name.size() <= kKeyLen) {
        std::copy(protocol_name.begin(), protocol_name.end(), hash_.begin());
    } else {
        crypto_hash_sha256(hash_.data(),
                           reinterpret_cast<const unsigned char*>(protocol_name.data()),
                           protocol_name.size());
    }
    chaining_key_ = hash_;
}

SymmetricState::~SymmetricState() {
    wipe(chaining_key_);
    wipe(hash_);
}

void SymmetricState::mix_key(ByteView input_key_material) {
    auto outputs = hkdf<2>(chaining_key_, input_key_material);
    chaining_key_ = outputs[0];
    cipher_.initialize_key(outputs[1]);  // HASHLEN is 32: no truncation
    wipe(outputs[0]);
    wipe(outputs[1]);
}

void SymmetricState::mix_hash(ByteView data) {
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init(&state);
    crypto_hash_sha256_update(&state, hash_.data(), hash_.size());
    crypto_hash_sha256_update(&state, data.data(), data.size());
    crypto_hash_sha256_final(&state, hash_.data());
}

void SymmetricState::mix_key_and_hash(ByteView input_key_material) {
    auto outputs = hkdf<3>(chaining_key_, input_key_material);
    chaining_key_ = outputs[0];
    mix_hash(outputs[1]);
    cipher_.initialize_key(outputs[2]);
    for (auto& output : outputs) wipe(output);
}

Bytes SymmetricState::encrypt_and_hash(ByteView plaintext) {
    Bytes ciphertext = cipher_.encrypt_with_ad(hash_, plaintext);
    mix_hash(ciphertext);
    return ciphertext;
}

Bytes SymmetricState::decrypt_and_hash(ByteView ciphertext) {
    Bytes plaintext = cipher_.decrypt_with_ad(hash_, ciphertext);
    mix_hash(ciphertext);
    return plaintext;
}

std::pair<CipherState, CipherState> SymmetricState::split() const {
    auto outputs = hkdf<2>(chaining_key_, {});
    std::pair<CipherState, CipherState> ciphers;
    ciphers.first.initialize_key(outputs[0]);
    ciphers.second.initialize_key(outputs[1]);
    wipe(outputs[0]);
    wipe(outputs[1]);
    return ciphers;
}

// --- HandshakeState ---

std::string protocol_name(Pattern pattern) {
    return std::string("Noise_") + (pattern == Pattern::xx ? "XX" : "IK") +
           "_25519_ChaChaPoly_SHA256";
}

namespace {

// Section 7.5: XX and IK; the initiator writes the even-numbered messages.
using MessagePattern = std::span<const Token>;
constexpr Token kXX1[] = {Token::e};
constexpr Token kXX2[] = {Token::e, Token::ee, Token::s, Token::es};
constexpr Token kXX3[] = {Token::s, Token::se};
constexpr MessagePattern kXX[] = {kXX1, kXX2, kXX3};
constexpr Token kIK1[] = {Token::e, Token::es, Token::s, Token::ss};
constexpr Token kIK2[] = {Token::e, Token::ee, Token::se};
constexpr MessagePattern kIK[] = {kIK1, kIK2};

std::span<const MessagePattern> messages_of(Pattern pattern) {
    if (pattern == Pattern::xx) return kXX;
    return kIK;
}

}  // namespace

HandshakeState::HandshakeState(HandshakeConfig config)
    : config_(std::move(config)), symmetric_(protocol_name(config_.pattern)) {
    symmetric_.mix_hash(config_.prologue);
    if (config_.pattern == Pattern::ik) {
        // Pre-message "<- s": both sides hash the responder's static key.
        if (config_.role == Role::initiator) {
            if (!config_.remote_static)
                fail(NoiseErrorKind::bad_key, "IK initiator needs the responder's static key");
            symmetric_.mix_hash(*config_.remote_static);
        } else {
            symmetric_.mix_hash(config_.local_static.public_key);
        }
    } else {
        config_.remote_static.reset();  // XX learns it from the handshake
    }
}

HandshakeState::~HandshakeState() = default;

bool HandshakeState::finished() const {
    return next_message_ == messages_of(config_.pattern).size();
}

bool HandshakeState::my_turn() const {
    const bool initiators_turn = next_message_ % 2 == 0;
    return !finished() && initiators_turn == (config_.role == Role::initiator);
}

void HandshakeState::check_turn(bool writing) const {
    if (broken_) fail(NoiseErrorKind::wrong_turn, "handshake failed earlier; start a new one");
    if (finished()) fail(NoiseErrorKind::wrong_turn, "handshake already finished");
    if (my_turn() == writing) return;
    fail(NoiseErrorKind::wrong_turn, writing
                                         ? "not our turn to write: the peer's message comes next"
                                         : "handshake message out of turn or replayed");
}

Bytes HandshakeState::write_message(ByteView payload) {
    check_turn(true);
    Bytes out;
    try {
        for (Token token : messages_of(config_.pattern)[next_message_]) write_token(token, out);
        const Bytes sealed = symmetric_.encrypt_and_hash(payload);
        out.insert(out.end(), sealed.begin(), sealed.end());
        if (out.size() > kMaxMessageLen)
            fail(NoiseErrorKind::bad_length, "handshake message over 65535 bytes");
    } catch (...) {
        broken_ = true;
        throw;
    }
    ++next_message_;
    finish_if_last();
    return out;
}

Bytes HandshakeState::read_message(ByteView message) {
    check_turn(false);
    Bytes payload;
    try {
        if (message.size() > kMaxMessageLen)
            fail(NoiseErrorKind::bad_length, "handshake message over 65535 bytes");
        std::size_t used = 0;
        for (Token token : messages_of(config_.pattern)[next_message_])
            used += read_token(token, message.subspan(used));
        payload = symmetric_.decrypt_and_hash(message.subspan(used));
    } catch (...) {
        broken_ = true;
        throw;
    }
    ++next_message_;
    finish_if_last();
    return payload;
}

void HandshakeState::write_token(Token token, Bytes& out) {
    if (token == Token::e) {
        ephemeral_ = config_.fixed_ephemeral ? *config_.fixed_ephemeral : KeyPair::generate();
        out.insert(out.end(), ephemeral_->public_key.begin(), ephemeral_->public_key.end());
        symmetric_.mix_hash(ephemeral_->public_key);
    } else if (token == Token::s) {
        const Bytes sealed = symmetric_.encrypt_and_hash(config_.local_static.public_key);
        out.insert(out.end(), sealed.begin(), sealed.end());
    } else {
        mix_dh_token(token);
    }
}

std::size_t HandshakeState::read_token(Token token, ByteView message) {
    if (token == Token::e) {
        if (message.size() < kKeyLen)
            fail(NoiseErrorKind::bad_length, "handshake message too short for an ephemeral key");
        remote_ephemeral_.emplace();
        std::copy_n(message.begin(), kKeyLen, remote_ephemeral_->begin());
        symmetric_.mix_hash(*remote_ephemeral_);
        return kKeyLen;
    }
    if (token == Token::s) {
        const std::size_t length = kKeyLen + (symmetric_.has_key() ? kTagLen : 0);
        if (message.size() < length)
            fail(NoiseErrorKind::bad_length, "handshake message too short for a static key");
        const Bytes key = symmetric_.decrypt_and_hash(message.first(length));
        config_.remote_static.emplace();
        std::copy_n(key.begin(), kKeyLen, config_.remote_static->begin());
        return length;
    }
    mix_dh_token(token);
    return 0;
}

void HandshakeState::mix_dh_token(Token token) {
    const bool initiator = config_.role == Role::initiator;
    const KeyPair& s = config_.local_static;
    switch (token) {
        case Token::ee:
            return mix_dh(local_ephemeral(), remote_key(remote_ephemeral_));
        case Token::es:
            return initiator ? mix_dh(local_ephemeral(), remote_key(config_.remote_static))
                             : mix_dh(s, remote_key(remote_ephemeral_));
        case Token::se:
            return initiator ? mix_dh(s, remote_key(remote_ephemeral_))
                             : mix_dh(local_ephemeral(), remote_key(config_.remote_static));
        case Token::ss:
            return mix_dh(s, remote_key(config_.remote_static));
        case Token::e:
        case Token::s:
            break;
    }
}

const KeyPair& HandshakeState::local_ephemeral() const {
    if (!ephemeral_) fail(NoiseErrorKind::bad_key, "no local ephemeral key yet");
    return *ephemeral_;
}

const Key& HandshakeState::remote_key(const std::optional<Key>& key) {
    if (!key) fail(NoiseErrorKind::bad_key, "the peer's key is not known yet");
    return *key;
}

void HandshakeState::mix_dh(const KeyPair& local, const Key& remote) {
    Key shared;
    // libsodium refuses an all-zero result (a low-order public key).
    if (crypto_scalarmult(shared.data(), local.private_key.data(), remote.data()) != 0)
        fail(NoiseErrorKind::bad_key, "X25519 gave an all-zero secret: low-order public key");
    symmetric_.mix_key(shared);
    wipe(shared);
}

void HandshakeState::finish_if_last() {
    if (!finished()) return;
    auto [initiator_sends, responder_sends] = symmetric_.split();
    const bool initiator = config_.role == Role::initiator;
    transport_.emplace();
    transport_->send = initiator ? initiator_sends : responder_sends;
    transport_->receive = initiator ? responder_sends : initiator_sends;
    transport_->handshake_hash = symmetric_.handshake_hash();
    transport_->remote_static = config_.remote_static.value_or(Key{});
}

Transport HandshakeState::take_transport() {
    if (!transport_) fail(NoiseErrorKind::wrong_turn, "handshake not finished (or keys taken)");
    Transport transport = std::move(*transport_);
    transport_.reset();
    return transport;
}

}  // namespace chat::crypto
