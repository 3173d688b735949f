#include "identity.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "device_id.hpp"
#include "errno_text.hpp"
#include "staging.hpp"
#include "unique_fd.hpp"

namespace chat {
namespace {

constexpr std::string_view kMagic = "chatd-identity-v1 ";
// base64 of 32 bytes, with padding.
constexpr std::size_t kSecretBase64Len = 44;
constexpr const char* kTempFileName = "identity.key.tmp";
// A key file is one short line; more than this is not one.
constexpr std::size_t kMaxFileLen = 256;

std::string mode_text(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

// Holds the file's bytes (the secret in base64) and wipes them when done.
struct SecretText {
    char bytes[kMaxFileLen + 1] = {};
    std::size_t size = 0;
    ~SecretText() { sodium_memzero(bytes, sizeof bytes); }
};

std::string not_a_key_file(const std::string& path) {
    return "identity key " + path + " is not a chatd identity key (one line \"" +
           std::string(kMagic) +
           "<base64 of 32 bytes>\"): restore it from a backup, or remove it to make a new "
           "identity (peers will then see a changed key)";
}

void read_secret(int fd, const std::string& path, SecretText& text) {
    while (text.size <= kMaxFileLen) {
        const ssize_t n = ::read(fd, text.bytes + text.size, kMaxFileLen + 1 - text.size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw IdentityError("cannot read identity key " + path + ": " + errno_text());
        if (n == 0) return;
        text.size += static_cast<std::size_t>(n);
    }
}

// "chatd-identity-v1 <base64>" with an optional final newline, or throws.
crypto::Key parse_secret(const SecretText& text, const std::string& path) {
    std::string_view line(text.bytes, text.size);
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (line.size() != kMagic.size() + kSecretBase64Len || !line.starts_with(kMagic))
        throw IdentityError(not_a_key_file(path));
    const std::string_view encoded = line.substr(kMagic.size());
    crypto::Key secret{};
    std::size_t decoded = 0;
    if (sodium_base642bin(secret.data(), secret.size(), encoded.data(), encoded.size(), nullptr,
                          &decoded, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        decoded != secret.size()) {
        sodium_memzero(secret.data(), secret.size());
        throw IdentityError(not_a_key_file(path));
    }
    return secret;
}

crypto::KeyPair load_key(int fd, const std::string& path) {
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        throw IdentityError("cannot read identity key " + path + ": " + errno_text());
    if (!S_ISREG(st.st_mode)) throw IdentityError(not_a_key_file(path));
    if ((st.st_mode & 0077) != 0) {
        throw IdentityError("identity key " + path + " is open to group or others (mode " +
                            mode_text(st.st_mode) +
                            "): it must be private to chatd's user: chmod 600 " + path);
    }
    SecretText text;
    read_secret(fd, path, text);
    crypto::Key secret = parse_secret(text, path);
    crypto::KeyPair keys = crypto::KeyPair::from_private(secret);
    sodium_memzero(secret.data(), secret.size());
    return keys;
}

void write_or_throw(int fd, std::string_view bytes, const std::string& path) {
    if (!write_all(fd, bytes.data(), bytes.size()))
        throw std::runtime_error("cannot write " + path + ": " + errno_text());
}

// A new key in a temp file made 0600 from the start (O_EXCL: never one an
// attacker prepared), synced, renamed into place, the directory synced.
crypto::KeyPair create_key(int dir_fd, const std::string& state_dir, const std::string& path) {
    const std::string temp_path = state_dir + "/" + kTempFileName;
    // One left by a start that crashed: we hold the state dir's lock, so it
    // is no one's now.
    if (::unlinkat(dir_fd, kTempFileName, 0) != 0 && errno != ENOENT)
        throw std::runtime_error("cannot remove " + temp_path + ": " + errno_text());
    const UniqueFd fd(::openat(dir_fd, kTempFileName,
                               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) throw std::runtime_error("cannot create " + temp_path + ": " + errno_text());
    crypto::KeyPair keys = crypto::KeyPair::generate();
    char encoded[kSecretBase64Len + 1] = {};
    sodium_bin2base64(encoded, sizeof encoded, keys.private_key.data(), keys.private_key.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    std::string line = std::string(kMagic) + encoded + "\n";
    sodium_memzero(encoded, sizeof encoded);
    try {
        if (::fchmod(fd.get(), 0600) != 0)  // a umask may have taken the owner's bits
            throw std::runtime_error("cannot make " + temp_path + " private: " + errno_text());
        write_or_throw(fd.get(), line, temp_path);
        if (::fsync(fd.get()) != 0)
            throw std::runtime_error("cannot sync " + temp_path + ": " + errno_text());
    } catch (...) {
        sodium_memzero(line.data(), line.size());
        ::unlinkat(dir_fd, kTempFileName, 0);
        throw;
    }
    sodium_memzero(line.data(), line.size());
    if (::renameat(dir_fd, kTempFileName, dir_fd, kIdentityFileName) != 0)
        throw std::runtime_error("cannot rename " + temp_path + " to " + path + ": " +
                                 errno_text());
    if (::fsync(dir_fd) != 0)
        throw std::runtime_error("cannot sync " + state_dir + ": " + errno_text());
    return keys;
}

crypto::KeyPair load_or_create(const std::string& state_dir) {
    crypto::ensure_sodium();
    const std::string path = state_dir + "/" + kIdentityFileName;
    const UniqueFd dir(::open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) throw std::runtime_error("cannot open " + state_dir + ": " + errno_text());
    const UniqueFd fd(::openat(dir.get(), kIdentityFileName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd) return load_key(fd.get(), path);
    if (errno == ENOENT) return create_key(dir.get(), state_dir, path);
    if (errno == ELOOP) throw IdentityError(not_a_key_file(path) + " (it is a symbolic link)");
    throw IdentityError("cannot read identity key " + path + ": " + errno_text() +
                        ": give chatd's user read access to it, or restore it from a backup");
}

}  // namespace

Identity::Identity(const std::string& state_dir) : keys_(load_or_create(state_dir)) {
    DeviceDigest digest{};
    crypto_hash_sha256(digest.data(), keys_.public_key.data(), keys_.public_key.size());
    fingerprint_ = format_device_id(digest);
    short_fingerprint_ = short_device_id(digest);
}

std::string Identity::public_key_hex() const {
    char hex[2 * crypto::kKeyLen + 1] = {};
    sodium_bin2hex(hex, sizeof hex, keys_.public_key.data(), keys_.public_key.size());
    return hex;
}

}  // namespace chat
