#pragma once
// The Noise Protocol Framework (revision 34, noiseprotocol.org/noise.html)
// for Noise_XX_25519_ChaChaPoly_SHA256 and Noise_IK_25519_ChaChaPoly_SHA256,
// on libsodium. Pure: no sockets, no threads, no state shared between
// threads. One HandshakeState per handshake, used by one thread; the
// CipherStates it hands over belong to whoever takes them. Every object
// wipes the secrets it holds when destroyed.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chat::crypto {

// DHLEN, HASHLEN and the cipher key size are all 32 for 25519/SHA256/ChaChaPoly.
inline constexpr std::size_t kKeyLen = 32;
inline constexpr std::size_t kTagLen = 16;
// Noise caps every message at 65535 bytes.
inline constexpr std::size_t kMaxMessageLen = 65535;

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;
using Key = std::array<std::uint8_t, kKeyLen>;

// Why a Noise operation failed; the exception's text says it for people.
enum class NoiseErrorKind {
    bad_mac,          // authentication failed: tampered, replayed or wrong key
    bad_length,       // a message too short for its pattern, or over 65535 bytes
    wrong_turn,       // not this side's turn, handshake over, or an earlier failure
    bad_key,          // a missing key the pattern needs, or a low-order DH result
    nonce_exhausted,  // the cipher's counter reached 2^64-1 (reserved)
};

class NoiseError : public std::runtime_error {
public:
    NoiseError(NoiseErrorKind kind, const std::string& what)
        : std::runtime_error(what), kind_(kind) {}
    NoiseErrorKind kind() const { return kind_; }

private:
    NoiseErrorKind kind_;
};

// sodium_init(), safe to call any number of times; throws if libsodium
// cannot start. Every entry point below calls it.
void ensure_sodium();

// Noise's HKDF (section 4.3, from HMAC-SHA256) with two outputs: for other
// keys chatd derives (the transfer streams'), so there is one HKDF.
std::array<Key, 2> hkdf2(const Key& chaining_key, ByteView input_key_material);

struct KeyPair {
    Key public_key{};
    Key private_key{};

    static KeyPair generate();
    static KeyPair from_private(const Key& private_key);
    KeyPair() = default;
    KeyPair(const KeyPair&) = default;
    KeyPair& operator=(const KeyPair&) = default;
    ~KeyPair();
};

// Section 5.1: a key (or none) and a 64-bit nonce; ChaCha20-Poly1305 IETF
// with the nonce as 32 zero bits and n little-endian.
class CipherState {
public:
    CipherState() = default;
    CipherState(const CipherState&) = default;
    CipherState& operator=(const CipherState&) = default;
    ~CipherState();

    void initialize_key(const Key& key);
    bool has_key() const { return has_key_; }
    void set_nonce(std::uint64_t nonce) { nonce_ = nonce; }
    std::uint64_t nonce() const { return nonce_; }
    // Without a key these return the input unchanged, as the spec says.
    Bytes encrypt_with_ad(ByteView ad, ByteView plaintext);
    // A failed MAC throws bad_mac and leaves the nonce where it was.
    Bytes decrypt_with_ad(ByteView ad, ByteView ciphertext);
    // Section 11.3: k = first 32 bytes of ENCRYPT(k, 2^64-1, "", zeros).
    void rekey();

private:
    Key key_{};
    bool has_key_ = false;
    std::uint64_t nonce_ = 0;
};

// Section 5.2: the chaining key, the handshake hash and a CipherState.
class SymmetricState {
public:
    explicit SymmetricState(std::string_view protocol_name);
    ~SymmetricState();
    SymmetricState(const SymmetricState&) = delete;
    SymmetricState& operator=(const SymmetricState&) = delete;

    void mix_key(ByteView input_key_material);
    void mix_hash(ByteView data);
    void mix_key_and_hash(ByteView input_key_material);
    const Key& handshake_hash() const { return hash_; }
    bool has_key() const { return cipher_.has_key(); }
    Bytes encrypt_and_hash(ByteView plaintext);
    Bytes decrypt_and_hash(ByteView ciphertext);
    // The initiator's sending and the responder's sending CipherState.
    std::pair<CipherState, CipherState> split() const;

private:
    Key chaining_key_{};
    Key hash_{};
    CipherState cipher_;
};

enum class Pattern { xx, ik };
// The tokens of a message pattern (section 7).
enum class Token { e, s, ee, es, se, ss };
enum class Role { initiator, responder };
// "Noise_XX_25519_ChaChaPoly_SHA256" or the IK one.
std::string protocol_name(Pattern pattern);

struct HandshakeConfig {
    Pattern pattern = Pattern::xx;
    Role role = Role::initiator;
    Bytes prologue;
    KeyPair local_static;
    // The responder's static key: required for an IK initiator, else unused.
    std::optional<Key> remote_static;
    // Tests only: the ephemeral key to use instead of a fresh random one.
    std::optional<KeyPair> fixed_ephemeral;
};

// What a finished handshake leaves: one CipherState each way.
struct Transport {
    CipherState send;
    CipherState receive;
    Key handshake_hash{};
    Key remote_static{};
};

// Section 5.3 for the XX and IK message patterns (section 7).
class HandshakeState {
public:
    explicit HandshakeState(HandshakeConfig config);
    ~HandshakeState();
    HandshakeState(const HandshakeState&) = delete;
    HandshakeState& operator=(const HandshakeState&) = delete;

    // The next handshake message carrying payload; wrong_turn if it is the
    // peer's turn or the handshake is over.
    Bytes write_message(ByteView payload);
    // The payload of the peer's next handshake message. Any failure leaves
    // the handshake broken: every later call throws wrong_turn.
    Bytes read_message(ByteView message);

    bool my_turn() const;
    bool finished() const;
    const Key& handshake_hash() const { return symmetric_.handshake_hash(); }
    // Moves the transport keys out once finished (wrong_turn before).
    Transport take_transport();

private:
    void write_token(Token token, Bytes& out);
    // How many bytes of message the token used.
    std::size_t read_token(Token token, ByteView message);
    // ee, es, se, ss: the same on both sides of a message.
    void mix_dh_token(Token token);
    void mix_dh(const KeyPair& local, const Key& remote);
    const KeyPair& local_ephemeral() const;
    static const Key& remote_key(const std::optional<Key>& key);
    void finish_if_last();
    void check_turn(bool writing) const;

    HandshakeConfig config_;
    SymmetricState symmetric_;
    std::optional<KeyPair> ephemeral_;
    std::optional<Key> remote_ephemeral_;
    std::size_t next_message_ = 0;
    bool broken_ = false;
    std::optional<Transport> transport_;
};

}  // namespace chat::crypto
