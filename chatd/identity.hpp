#pragma once
// The daemon's long-term X25519 key pair: what a peer knows this daemon by.
// Kept in <state_dir>/identity.key, one line
//     chatd-identity-v1 <the 32-byte private key in base64>
// mode 0600, made on first start. Loaded on the main (control) thread at
// start, before anything is served, then read-only. Workers never load it:
// `chatd --worker` does not get this far. The private key is wiped from
// memory when the Identity goes (crypto::KeyPair's destructor).
#include <stdexcept>
#include <string>

#include "noise.hpp"

namespace chat {

inline constexpr const char* kIdentityFileName = "identity.key";

// A key file chatd will not use: the text names the file and what to do.
// A setup problem, as a bad config is: chatd exits with the usage code.
class IdentityError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Identity {
public:
    // Loads <state_dir>/identity.key, or makes a new key there if there is
    // none. Throws IdentityError for a file that is unreadable, not a key
    // file, or open to group or others; std::runtime_error if a new one
    // cannot be written. The caller holds the state directory's lock.
    explicit Identity(const std::string& state_dir);
    Identity(const Identity&) = delete;
    Identity& operator=(const Identity&) = delete;

    const crypto::KeyPair& key_pair() const { return keys_; }
    // format_device_id(SHA-256(public key)), and its first group.
    const std::string& fingerprint() const { return fingerprint_; }
    const std::string& short_fingerprint() const { return short_fingerprint_; }
    // The public key as 64 lowercase hex digits.
    std::string public_key_hex() const;

private:
    crypto::KeyPair keys_;
    std::string fingerprint_;
    std::string short_fingerprint_;
};

}  // namespace chat
