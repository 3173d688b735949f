#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "device_id.hpp"

using chat::DeviceDigest;
using chat::format_device_id;
using chat::luhn32_check_character;
using chat::parse_device_id;
using chat::short_device_id;

namespace {

DeviceDigest digest_from_hex(std::string_view hex) {
    REQUIRE(hex.size() == 64);
    DeviceDigest digest{};
    for (std::size_t i = 0; i < digest.size(); ++i)
        digest[i] =
            static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
    return digest;
}

struct KnownId {
    const char* source;
    const char* digest_hex;
    const char* id;
};

// Syncthing's own: the ID in lib/protocol/deviceid_test.go (its bytes read
// with Python's base64), and test/h1, test/h2: the SHA-256 of each
// cert.pem's DER (openssl x509 -outform DER | sha256sum) with the ID
// config.xml gives it.
constexpr KnownId kKnownIds[] = {
    {"deviceid_test.go", "7f7c8723ecca5b4d22061c4981b34c34d865ec376be1eb74330873c9a6f9b205",
     "P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2"},
    {"test/h1/cert.pem", "479403ffdef496b5f5e5bc9c0a15221e70073164509fa30761af63094f6f945c",
     "I6KAH76-66SLLLB-5PFXSOA-UFJCDZC-YAOMLEK-CP2GB32-BV5RQST-3PSROAU"},
    {"test/h2/cert.pem", "64516fb94d24e7b637d20d9846ebaeffb09556ef3968c8276fefc3fe24c144c2",
     "MRIW7OK-NETT3M4-N6SBWME-N25O76W-YJKVXPH-FUMQJ3S-P57B74J-GBITBAC"},
};

constexpr std::string_view kFormatted =
    "P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2";

}  // namespace

TEST_SUITE("device_id") {
    TEST_CASE("Syncthing's digests print as Syncthing prints them, and parse back") {
        for (const KnownId& known : kKnownIds) {
            CAPTURE(known.source);
            const DeviceDigest digest = digest_from_hex(known.digest_hex);
            CHECK(format_device_id(digest) == known.id);
            CHECK(short_device_id(digest) == std::string_view(known.id).substr(0, 7));
            const auto parsed = parse_device_id(known.id);
            CHECK(parsed.error == "");
            REQUIRE(parsed.digest);
            CHECK(*parsed.digest == digest);
        }
    }

    TEST_CASE("luhn32 as Syncthing's luhn_test.go has it") {
        CHECK(luhn32_check_character("AB725E4GHIQPL3ZFGT") == 'G');
        CHECK_FALSE(luhn32_check_character("3734EJEKMRHWPZQTWYQ1"));
    }

    TEST_CASE("the same ID written other ways parses to the same digest") {
        // The 56-character forms of deviceid_test.go's formatCases.
        const char* forms[] = {
            "P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2",
            "P56IOI-7MZJNU2Y-IQGDR-EYDM2M-GTI-MGL3-BXNPQ6-W5BM-TBB-Z4TJXZ-WICQ2",
            "P56IOI7 MZJNU2Y IQGDREY DM2MGTI MGL3BXN PQ6W5BM TBBZ4TJ XZWICQ2",
            "P56IOI7MZJNU2YIQGDREYDM2MGTIMGL3BXNPQ6W5BMTBBZ4TJXZWICQ2",
            "P561017MZJNU2YIQGDREYDM2MGTIMGL3BXNPQ6W5BMT88Z4TJXZWICQ2",
            "p56ioi7mzjnu2yiqgdreydm2mgtimgl3bxnpq6w5bmtbbz4tjxzwicq2",
            "p561017mzjnu2yiqgdreydm2mgtimgl3bxnpq6w5bmt88z4tjxzwicq2",
            " p56ioi7-MZJNU2Y-iqgdrey-DM2MGTI-mgl3bxn-PQ6W5BM-tbbz4tj-XZWICQ2 ",
        };
        for (const char* form : forms) {
            CAPTURE(form);
            const auto parsed = parse_device_id(form);
            CHECK(parsed.error == "");
            REQUIRE(parsed.digest);
            CHECK(format_device_id(*parsed.digest) == kFormatted);
        }
    }

    TEST_CASE("bad texts are refused with an error that says what is wrong") {
        struct Case {
            const char* text;
            const char* error;
        };
        const Case cases[] = {
            {"", "device ID has 0 characters besides dashes and spaces, not 56 (8 groups of 7)"},
            {"a", "device ID has 1 characters besides dashes and spaces, not 56 (8 groups of 7)"},
            // Syncthing's old form without check characters: not taken.
            {"P56IOI7MZJNU2IQGDREYDM2MGTMGL3BXNPQ6W5BTBBZ4TJXZWICQ",
             "device ID has 52 characters besides dashes and spaces, not 56 (8 groups of 7)"},
            {"P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2A",
             "device ID has 57 characters besides dashes and spaces, not 56 (8 groups of 7)"},
            {"P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ9",
             "device ID has '9' at position 63: only A-Z, 2-7, dashes and spaces belong in one"},
            {"P56IOI7_MZJNU2Y",
             "device ID has '_' at position 8: only A-Z, 2-7, dashes and "
             "spaces belong in one"},
            {"P56IOI7\tMZJNU2Y",
             "device ID has byte 0x09 at position 8: only A-Z, 2-7, dashes "
             "and spaces belong in one"},
            // One character changed in each quarter in turn, then a check character.
            {"Q56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2",
             "device ID fails its check in groups 1-2 of 8: a character there is mistyped"},
            {"P56IOI7-MZJNU2Y-IQGDREY-DM2MGTJ-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2",
             "device ID fails its check in groups 3-4 of 8: a character there is mistyped"},
            {"P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BN-TBBZ4TJ-XZWICQ2",
             "device ID fails its check in groups 5-6 of 8: a character there is mistyped"},
            {"P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ3",
             "device ID fails its check in groups 7-8 of 8: a character there is mistyped"},
            // Two neighbours swapped: Luhn's reason to be.
            {"P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZT4J-XZWICQ2",
             "device ID fails its check in groups 7-8 of 8: a character there is mistyped"},
        };
        for (const Case& c : cases) {
            CAPTURE(c.text);
            const auto parsed = parse_device_id(c.text);
            CHECK_FALSE(parsed.digest);
            CHECK(parsed.error == c.error);
        }
    }

    TEST_CASE("a last character with bits past the digest is refused, though its check holds") {
        // h1's 52nd base32 character is 'A': its first bit is the digest's
        // last, the other four must be zero. 'B' sets the lowest of them; the
        // quarter's check character is made anew so only that is wrong.
        std::string id = "I6KAH76-66SLLLB-5PFXSOA-UFJCDZC-YAOMLEK-CP2GB32-BV5RQST-3PSROAU";
        REQUIRE(id[61] == 'A');
        id[61] = 'B';
        const std::string quarter = "BV5RQST3PSROB";
        id[62] = *luhn32_check_character(quarter);
        const auto parsed = parse_device_id(id);
        CHECK_FALSE(parsed.digest);
        CHECK(parsed.error ==
              "device ID is not canonical: character 6 of group 8 sets bits past the digest's end");
    }

    TEST_CASE("every digest survives the round trip") {
        std::mt19937_64 random(20);
        for (int i = 0; i < 2000; ++i) {
            DeviceDigest digest{};
            for (auto& byte : digest) byte = static_cast<std::uint8_t>(random());
            const std::string id = format_device_id(digest);
            REQUIRE(id.size() == 63);
            const auto parsed = parse_device_id(id);
            REQUIRE(parsed.digest);
            CHECK(*parsed.digest == digest);
        }
    }
}
