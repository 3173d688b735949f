#pragma once
// The sealing of a transfer's TCP connections (the manifest's and each
// data job's). The receiver made a per-transfer secret when it accepted
// and sent it in its answer, itself sealed by the Noise session; no
// long-term key is involved, so a worker can hold the secret.
//
//   C: hello  "CHS1" | ciphers offered (bitmask) | transfer id (32 hex) | 32 random bytes
//   S: reply  the cipher picked | 32 random bytes             (or closes)
//   then records both ways: length (u32 BE, of what follows) | AEAD(data | type)
//
// Keys: HKDF(SHA-256("chatd stream 1" | hello | reply), secret), one key a
// way, so a tampered hello or reply gives other keys. The client's first
// record is its proof of the secret; the server's fresh random bytes make a
// replayed connection's records fail. Nonces count records from 0, the
// record's length is its associated data, and a close record ends the
// stream, so a cut is told from an end. AES-256-GCM where the CPU has it
// (libsodium offers it only with AES-NI), else ChaCha20-Poly1305.
//
// Pure: no sockets, no threads. Each sealer or opener is one direction's
// state, used by one thread; secrets are wiped on destruction.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "noise.hpp"

namespace chat::crypto {

enum class StreamCipher : std::uint8_t { chacha20poly1305 = 1, aes256gcm = 2 };
const char* cipher_name(StreamCipher cipher);  // "aes-256-gcm", "chacha20-poly1305"

// The ciphers this machine can run, as the hello's bitmask.
std::uint8_t ciphers_available();
// The one a server picks from `offered`: AES-256-GCM if both have it.
std::optional<StreamCipher> pick_cipher(std::uint8_t offered);

inline constexpr std::size_t kStreamNonceLen = 32;
inline constexpr std::size_t kTransferIdLen = 32;
inline constexpr std::size_t kHelloLen = 4 + 1 + kTransferIdLen + kStreamNonceLen;
inline constexpr std::size_t kReplyLen = 1 + kStreamNonceLen;
inline constexpr std::size_t kRecordHeaderLen = 4;
// Plaintext per record; a record's body is data + type + 16 bytes.
inline constexpr std::size_t kMaxRecordData = 64 * 1024;
inline constexpr std::size_t kMaxRecordBody = 1 + kMaxRecordData + kTagLen;

class StreamSealError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct StreamHello {
    std::uint8_t ciphers = 0;
    std::string transfer;  // 32 hex digits
    std::array<std::uint8_t, kStreamNonceLen> nonce{};

    // With fresh random bytes.
    static StreamHello make(const std::string& transfer);
    std::array<std::uint8_t, kHelloLen> encode() const;
    // Throws StreamSealError for what is not a hello.
    static StreamHello decode(ByteView bytes);
};

struct StreamReply {
    StreamCipher cipher = StreamCipher::chacha20poly1305;
    std::array<std::uint8_t, kStreamNonceLen> nonce{};

    static StreamReply make(StreamCipher cipher);
    std::array<std::uint8_t, kReplyLen> encode() const;
    static StreamReply decode(ByteView bytes);  // throws StreamSealError
};

// One direction: its cipher, key and the next record's number.
struct StreamDirection {
    StreamCipher cipher = StreamCipher::chacha20poly1305;
    Key key{};
    std::uint64_t counter = 0;
};

// Both directions of one side, as derived, and as handed to a worker.
struct StreamKeys {
    StreamDirection send;
    StreamDirection receive;

    // `client`: the side that sent the hello. `secret`: the transfer's.
    static StreamKeys derive(std::string_view secret, const StreamHello& hello,
                             const StreamReply& reply, bool client);
    // As text for a worker's job, and back (throws StreamSealError).
    std::string encode() const;
    static StreamKeys decode(std::string_view text);
    ~StreamKeys();
};

enum class RecordType : std::uint8_t { data = 0, close = 1 };

class RecordSealer {
public:
    explicit RecordSealer(const StreamDirection& direction);
    ~RecordSealer();
    RecordSealer(const RecordSealer&) = delete;
    RecordSealer& operator=(const RecordSealer&) = delete;

    // Appends `data` to `out` as records of at most kMaxRecordData each
    // (one, empty, for a close or an empty data record).
    void seal(const char* data, std::size_t size, RecordType type, std::vector<char>& out);
    std::uint64_t counter() const { return direction_.counter; }

private:
    StreamDirection direction_;
    alignas(16) std::array<std::uint8_t, 512> aes_state_{};  // crypto_aead_aes256gcm_state
};

class RecordOpener {
public:
    explicit RecordOpener(const StreamDirection& direction);
    ~RecordOpener();
    RecordOpener(const RecordOpener&) = delete;
    RecordOpener& operator=(const RecordOpener&) = delete;

    // The body length a record header announces; throws StreamSealError
    // when it cannot be a record's.
    static std::size_t body_length(const char* header);
    // Opens one record's body (after its header) into `out`, which has
    // room for body_size - 16 bytes (the data, then the type byte): its
    // type and data length. Throws StreamSealError if it fails
    // authentication; a failed record leaves the counter where it was.
    std::pair<RecordType, std::size_t> open(const char* header, const char* body,
                                            std::size_t body_size, char* out);
    std::uint64_t counter() const { return direction_.counter; }
    bool closed() const { return closed_; }

private:
    StreamDirection direction_;
    alignas(16) std::array<std::uint8_t, 512> aes_state_{};
    bool closed_ = false;
};

}  // namespace chat::crypto
