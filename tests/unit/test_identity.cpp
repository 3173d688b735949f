// The daemon's key file: made private on first start, the same key every
// start after, and a clear refusal for a file chatd must not use.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "device_id.hpp"
#include "identity.hpp"
#include "temp_dir.hpp"

using namespace chat;
namespace fs = std::filesystem;

namespace {

struct TempDir : test::TempDir {
    TempDir() : test::TempDir("chatd-identity") {}
    std::string key_path() const { return (path / kIdentityFileName).string(); }
};

unsigned mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

void write_file(const std::string& path, const std::string& text, unsigned mode) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    REQUIRE(::chmod(path.c_str(), mode) == 0);
}

std::string refusal(const std::string& state_dir) {
    try {
        Identity identity(state_dir);
    } catch (const IdentityError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_SUITE("identity") {
    TEST_CASE("the first start makes a private key; later starts load the same one") {
        TempDir t;
        std::string fingerprint, public_key;
        {
            const Identity made(t.path.string());
            fingerprint = made.fingerprint();
            public_key = made.public_key_hex();
            CHECK(mode_of(t.key_path()) == 0600);
            CHECK_FALSE(fs::exists(t.path / "identity.key.tmp"));
            CHECK(public_key.size() == 64);
            CHECK(parse_device_id(fingerprint).digest.has_value());
            CHECK(made.short_fingerprint() == fingerprint.substr(0, 7));
        }
        std::ifstream in(t.key_path());
        std::string magic, secret;
        in >> magic >> secret;
        CHECK(magic == "chatd-identity-v1");
        CHECK(secret.size() == 44);
        const Identity loaded(t.path.string());
        CHECK(loaded.fingerprint() == fingerprint);
        CHECK(loaded.public_key_hex() == public_key);
        TempDir other;
        CHECK(Identity(other.path.string()).fingerprint() != fingerprint);
    }

    TEST_CASE("a leftover temp file from a crashed start does not stop a new key") {
        TempDir t;
        write_file((t.path / "identity.key.tmp").string(), "half", 0644);
        const Identity made(t.path.string());
        CHECK(mode_of(t.key_path()) == 0600);
        CHECK_FALSE(fs::exists(t.path / "identity.key.tmp"));
    }

    TEST_CASE("a key file chatd must not use is refused, saying what to do") {
        TempDir t;
        const std::string path = t.key_path();
        const std::string not_a_key =
            "identity key " + path +
            " is not a chatd identity key (one line \"chatd-identity-v1 <base64 of 32 "
            "bytes>\"): restore it from a backup, or remove it to make a new identity (peers "
            "will then see a changed key)";
        const std::string good = "chatd-identity-v1 " + std::string(43, 'A') + "=\n";
        const struct {
            const char* what;
            std::string text;
            unsigned mode;
            std::string refused;
        } cases[] = {
            {"good", good, 0600, ""},
            {"good, read-only", good, 0400, ""},
            {"good, no newline", good.substr(0, good.size() - 1), 0600, ""},
            {"truncated", good.substr(0, 40), 0600, not_a_key},
            {"empty", "", 0600, not_a_key},
            {"garbage", std::string(62, '\x01'), 0600, not_a_key},
            {"not base64", "chatd-identity-v1 " + std::string(43, '*') + "=\n", 0600, not_a_key},
            {"too long", good + good, 0600, not_a_key},
            {"another version", "chatd-identity-v2 " + std::string(43, 'A') + "=\n", 0600,
             not_a_key},
            {"group-readable", good, 0640,
             "identity key " + path +
                 " is open to group or others (mode 0640): it must "
                 "be private to chatd's user: chmod 600 " +
                 path},
            {"world-writable", good, 0602,
             "identity key " + path +
                 " is open to group or others (mode 0602): it must "
                 "be private to chatd's user: chmod 600 " +
                 path},
        };
        for (const auto& c : cases) {
            CAPTURE(c.what);
            write_file(path, c.text, c.mode);
            CHECK(refusal(t.path.string()) == c.refused);
            // A refused file is left as it was, never replaced.
            CHECK(mode_of(path) == c.mode);
        }
    }

    TEST_CASE("a symbolic link in the key's place is refused") {
        TempDir t;
        fs::create_symlink("/dev/null", t.path / kIdentityFileName);
        CHECK(refusal(t.path.string()).find("(it is a symbolic link)") != std::string::npos);
    }
}
