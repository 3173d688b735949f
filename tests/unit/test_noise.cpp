#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "noise.hpp"

using namespace chat::crypto;

namespace {

Bytes from_hex(std::string_view hex) {
    Bytes out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(
            static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    return out;
}

Key key_from_hex(std::string_view hex) {
    const Bytes bytes = from_hex(hex);
    Key key{};
    REQUIRE(bytes.size() == key.size());
    std::copy(bytes.begin(), bytes.end(), key.begin());
    return key;
}

Bytes bytes_of(ByteView view) { return Bytes(view.begin(), view.end()); }

// Keys and payloads shared by every vector below (the cacophony set).
constexpr std::string_view kInitStatic =
    "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1";
constexpr std::string_view kInitEphemeral =
    "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a";
constexpr std::string_view kRespStatic =
    "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893";
constexpr std::string_view kRespEphemeral =
    "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b";
constexpr std::string_view kPayloads[] = {
    "4c756477696720766f6e204d69736573",
    "4d757272617920526f746862617264",
    "462e20412e20486179656b",
    "4361726c204d656e676572",
    "4a65616e2d426170746973746520536179",
    "457567656e2042f6686d20766f6e2042617765726b",
};

struct Vector {
    const char* source;
    Pattern pattern;
    std::string_view prologue;
    // Handshake messages, then transport messages; senders alternate,
    // the initiator first.
    std::vector<std::string_view> ciphertexts;
    std::string_view handshake_hash;  // empty: the source gives none
};

// From rweather/noise-c: tests/vector/cacophony.txt and noise-c-basic.txt,
// the entries named Noise_XX_25519_ChaChaPoly_SHA256 and
// Noise_IK_25519_ChaChaPoly_SHA256 (same keys and payloads, other prologue).
const std::vector<Vector> kVectors = {
    {"cacophony XX",
     Pattern::xx,
     "4a6f686e2047616c74",
     {"ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c79444c756477696720766f6e204d6973"
      "6573",
      "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f14480884381cbad1f276e038c48378ffce2b6"
      "5285e08d6b68aaa3629a5a8639392490e5b9bd5269c2f1e4f488ed8831161f19b7815528f8982ffe09be9b5c412f"
      "8a0db50f8814c7194e83f23dbd8d162c9326ad",
      "c7195ffacac1307ff99046f219750fc47693e23c3cb08b89c2af808b444850a80ae475b9df0f169ae80a89be0865"
      "b57f58c9fea0d4ec82a286427402f113e4b6ae769a1d95941d49b25030",
      "96763ed773f8e47bb3712f0e29b3060ffc956ffc146cee53d5e1df",
      "3e40f15f6f3a46ae446b253bf8b1d9ffb6ed9b174d272328ff91a7e2e5c79c07f5",
      "eb3f3515110702e047a6c9da4478b6ead94873c11c0f2d710ddb3f09fce024b3a58502ae3f"},
     ""},
    {"cacophony IK",
     Pattern::ik,
     "4a6f686e2047616c74",
     {"ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944718da798efbcd91528520204f904"
      "b9bd6c7413dccdc214d951e15253e39987f18146e8cd0873654207148333479d4d16c289f0294b29960a72f48e0b"
      "7bba2e89083169825e59642148d492020664ccf7",
      "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f1448088435361e70b2ed446e6c9ec387d1d6b"
      "3b840f194e373979d241b203c4acafccf5",
      "050e9f3c8fac16b68dbce8f8c4bfbf6617c897f9ada4aa29aa19c8",
      "344233a6cabb7141d80f3da2fedc311d9646bbb0f505afe403a667",
      "62cdeeb172ad7ade7aa7d9e069da5790f12331bfa00177787a1d0810c67dc3b2b4",
      "029bead1b40992327044d409d9a1f3ad8f36c3c452775d557e18bbeb2e8dfcead32d514024"},
     ""},
    {"noise-c-basic XX",
     Pattern::xx,
     "50726f6c6f677565313233",
     {"ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c79444c756477696720766f6e204d6973"
      "6573",
      "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f14480884381cbad1f276e038c48378ffce2b6"
      "5285e08d6b68aaa3629a5a8639392490e5b94a6d8798832d5372f220f161d9c2df035528f8982ffe09be9b5c412f"
      "8a0db5d21351f20af1370d0bf8ef1a8c59a30e",
      "c7195ffacac1307ff99046f219750fc47693e23c3cb08b89c2af808b444850a8589981dfbd651e6ff4724a781cc2"
      "aa6158c9fea0d4ec82a286427484c5b8c8123a7a6002b1de9f9775fc97",
      "96763ed773f8e47bb3712f0e29b3060ffc956ffc146cee53d5e1df",
      "3e40f15f6f3a46ae446b253bf8b1d9ffb6ed9b174d272328ff91a7e2e5c79c07f5",
      "eb3f3515110702e047a6c9da4478b6ead94873c11c0f2d710ddb3f09fce024b3a58502ae3f"},
     "852a28d2146785c54bd8334f4e460c80d7fe4fd0cc5bc0abef2a24a3c4d44d5f"},
    {"noise-c-basic IK",
     Pattern::ik,
     "50726f6c6f677565313233",
     {"ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944718da798efbcd91528520204f904"
      "b9bd6c7413dccdc214d951e15253e39987f1508bfd10ad143e921328082a3c3b9e50c289f0294b29960a72f48e0b"
      "7bba2e89f20d17ed0e4dcf718749c95a941a620e",
      "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f1448088435361e70b2ed446e6c9ec387d1d6b"
      "3b3380e00f0055bd7b310e12947fbab8e7",
      "050e9f3c8fac16b68dbce8f8c4bfbf6617c897f9ada4aa29aa19c8",
      "344233a6cabb7141d80f3da2fedc311d9646bbb0f505afe403a667",
      "62cdeeb172ad7ade7aa7d9e069da5790f12331bfa00177787a1d0810c67dc3b2b4",
      "029bead1b40992327044d409d9a1f3ad8f36c3c452775d557e18bbeb2e8dfcead32d514024"},
     "3d8748e8f966293aeab5cd9a2e42ad0e8d0ebd83fa78957c4664bc6718613eeb"},
};

HandshakeConfig config_for(Pattern pattern, Role role, std::string_view prologue) {
    HandshakeConfig config;
    config.pattern = pattern;
    config.role = role;
    config.prologue = from_hex(prologue);
    const bool initiator = role == Role::initiator;
    config.local_static =
        KeyPair::from_private(key_from_hex(initiator ? kInitStatic : kRespStatic));
    config.fixed_ephemeral =
        KeyPair::from_private(key_from_hex(initiator ? kInitEphemeral : kRespEphemeral));
    if (initiator && pattern == Pattern::ik)
        config.remote_static = KeyPair::from_private(key_from_hex(kRespStatic)).public_key;
    return config;
}

std::size_t handshake_length(Pattern pattern) { return pattern == Pattern::xx ? 3 : 2; }

struct Pair {
    HandshakeState initiator;
    HandshakeState responder;
    explicit Pair(Pattern pattern, std::string_view prologue = "4a6f686e2047616c74")
        : initiator(config_for(pattern, Role::initiator, prologue)),
          responder(config_for(pattern, Role::responder, prologue)) {}
    HandshakeState& sender(std::size_t i) { return i % 2 == 0 ? initiator : responder; }
    HandshakeState& receiver(std::size_t i) { return i % 2 == 0 ? responder : initiator; }
};

NoiseErrorKind error_of(auto&& action) {
    try {
        action();
    } catch (const NoiseError& error) {
        return error.kind();
    }
    FAIL("no NoiseError thrown");
    return NoiseErrorKind::bad_key;
}

}  // namespace

TEST_SUITE("noise") {
    TEST_CASE("the test vectors, byte for byte, both roles, handshake and transport") {
        for (const Vector& vector : kVectors) {
            CAPTURE(vector.source);
            Pair pair(vector.pattern, vector.prologue);
            const std::size_t handshake = handshake_length(vector.pattern);
            for (std::size_t i = 0; i < handshake; ++i) {
                CAPTURE(i);
                const Bytes payload = from_hex(kPayloads[i]);
                const Bytes message = pair.sender(i).write_message(payload);
                CHECK(message == from_hex(vector.ciphertexts[i]));
                CHECK(pair.receiver(i).read_message(message) == payload);
            }
            REQUIRE(pair.initiator.finished());
            REQUIRE(pair.responder.finished());
            CHECK(pair.initiator.handshake_hash() == pair.responder.handshake_hash());
            if (!vector.handshake_hash.empty())
                CHECK(bytes_of(pair.initiator.handshake_hash()) == from_hex(vector.handshake_hash));
            Transport initiator = pair.initiator.take_transport();
            Transport responder = pair.responder.take_transport();
            CHECK(initiator.remote_static ==
                  KeyPair::from_private(key_from_hex(kRespStatic)).public_key);
            CHECK(responder.remote_static ==
                  KeyPair::from_private(key_from_hex(kInitStatic)).public_key);
            for (std::size_t i = handshake; i < vector.ciphertexts.size(); ++i) {
                CAPTURE(i);
                Transport& from = i % 2 == 0 ? initiator : responder;
                Transport& to = i % 2 == 0 ? responder : initiator;
                const Bytes payload = from_hex(kPayloads[i]);
                const Bytes message = from.send.encrypt_with_ad({}, payload);
                CHECK(message == from_hex(vector.ciphertexts[i]));
                CHECK(to.receive.decrypt_with_ad({}, message) == payload);
            }
        }
    }

    TEST_CASE("a flipped bit anywhere in a handshake message fails with the MAC error") {
        for (Pattern pattern : {Pattern::xx, Pattern::ik}) {
            const std::size_t handshake = handshake_length(pattern);
            std::vector<std::size_t> lengths;
            Pair clean(pattern);
            for (std::size_t i = 0; i < handshake; ++i) {
                const Bytes message = clean.sender(i).write_message(from_hex(kPayloads[i]));
                lengths.push_back(message.size());
                clean.receiver(i).read_message(message);
            }
            for (std::size_t tampered = 0; tampered < handshake; ++tampered) {
                for (std::size_t byte = 0; byte < lengths[tampered]; ++byte) {
                    // Early messages are not all sealed, but the handshake
                    // hash covers them: a later message's MAC fails.
                    Pair pair(pattern);
                    std::optional<NoiseErrorKind> failure;
                    for (std::size_t i = 0; i < handshake && !failure; ++i) {
                        Bytes message = pair.sender(i).write_message(from_hex(kPayloads[i]));
                        if (i == tampered)
                            message[byte] ^= static_cast<std::uint8_t>(1u << (byte % 8));
                        try {
                            pair.receiver(i).read_message(message);
                        } catch (const NoiseError& error) {
                            failure = error.kind();
                        }
                    }
                    CAPTURE(protocol_name(pattern));
                    CAPTURE(tampered);
                    CAPTURE(byte);
                    CHECK(failure == NoiseErrorKind::bad_mac);
                }
            }
        }
    }

    TEST_CASE("a flipped bit in a transport message fails with the MAC error, nonce kept") {
        Pair pair(Pattern::xx);
        for (std::size_t i = 0; i < 3; ++i)
            pair.receiver(i).read_message(pair.sender(i).write_message({}));
        Transport initiator = pair.initiator.take_transport();
        Transport responder = pair.responder.take_transport();
        const Bytes message = initiator.send.encrypt_with_ad({}, from_hex(kPayloads[3]));
        for (std::size_t bit = 0; bit < message.size() * 8; ++bit) {
            Bytes tampered = message;
            tampered[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
            CHECK(error_of([&] { responder.receive.decrypt_with_ad({}, tampered); }) ==
                  NoiseErrorKind::bad_mac);
        }
        CHECK(responder.receive.nonce() == 0);
        CHECK(responder.receive.decrypt_with_ad({}, message) == from_hex(kPayloads[3]));
        // The same message again is a replay: its nonce is used up.
        CHECK(error_of([&] { responder.receive.decrypt_with_ad({}, message); }) ==
              NoiseErrorKind::bad_mac);
    }

    TEST_CASE("out-of-turn, replayed and post-handshake messages are refused") {
        Pair pair(Pattern::xx);
        CHECK(error_of([&] { pair.responder.write_message({}); }) == NoiseErrorKind::wrong_turn);
        const Bytes first = pair.initiator.write_message({});
        Pair fresh(Pattern::xx);  // an initiator writes first
        CHECK(error_of([&] { fresh.initiator.read_message(first); }) == NoiseErrorKind::wrong_turn);
        pair.responder.read_message(first);
        CHECK(error_of([&] { pair.responder.read_message(first); }) == NoiseErrorKind::wrong_turn);
        CHECK(error_of([&] { pair.initiator.take_transport(); }) == NoiseErrorKind::wrong_turn);
        const Bytes second = pair.responder.write_message({});
        pair.initiator.read_message(second);
        const Bytes third = pair.initiator.write_message({});
        pair.responder.read_message(third);
        CHECK(error_of([&] { pair.responder.read_message(third); }) == NoiseErrorKind::wrong_turn);
        CHECK(error_of([&] { pair.initiator.write_message({}); }) == NoiseErrorKind::wrong_turn);
    }

    TEST_CASE("a failed handshake stays failed") {
        Pair pair(Pattern::ik);
        Bytes first = pair.initiator.write_message({});
        first.back() ^= 1;
        CHECK(error_of([&] { pair.responder.read_message(first); }) == NoiseErrorKind::bad_mac);
        first.back() ^= 1;
        CHECK(error_of([&] { pair.responder.read_message(first); }) == NoiseErrorKind::wrong_turn);
    }

    TEST_CASE("short messages, a missing IK key and a low-order point are refused") {
        struct Case {
            Pattern pattern;
            std::size_t keep;
        };
        for (const Case c : {Case{Pattern::xx, 31}, Case{Pattern::ik, 32}, Case{Pattern::ik, 79},
                             Case{Pattern::ik, 95}}) {
            Pair pair(c.pattern);
            Bytes message = pair.initiator.write_message({});
            message.resize(c.keep);
            CAPTURE(c.keep);
            CHECK(error_of([&] { pair.responder.read_message(message); }) ==
                  NoiseErrorKind::bad_length);
        }
        HandshakeConfig no_key = config_for(Pattern::ik, Role::initiator, "");
        no_key.remote_static.reset();
        CHECK(error_of([&] { HandshakeState state(no_key); }) == NoiseErrorKind::bad_key);

        Pair pair(Pattern::xx);
        pair.initiator.write_message({});
        pair.responder.read_message(Bytes(32, 0));  // the point 0: every X25519 result is zero
        CHECK(error_of([&] { pair.responder.write_message({}); }) == NoiseErrorKind::bad_key);
    }

    TEST_CASE("the nonce 2^64-1 is reserved") {
        CipherState cipher;
        cipher.initialize_key(Key{});
        cipher.set_nonce(UINT64_MAX);
        CHECK(error_of([&] { cipher.encrypt_with_ad({}, {}); }) == NoiseErrorKind::nonce_exhausted);
        CHECK(error_of([&] { cipher.decrypt_with_ad({}, Bytes(16)); }) ==
              NoiseErrorKind::nonce_exhausted);
    }

    TEST_CASE("rekey changes the key on both sides alike") {
        CipherState sender;
        CipherState receiver;
        sender.initialize_key(Key{1});
        receiver.initialize_key(Key{1});
        sender.rekey();
        const Bytes message = sender.encrypt_with_ad({}, from_hex(kPayloads[0]));
        CHECK(error_of([&] { CipherState(receiver).decrypt_with_ad({}, message); }) ==
              NoiseErrorKind::bad_mac);
        receiver.rekey();
        CHECK(receiver.decrypt_with_ad({}, message) == from_hex(kPayloads[0]));
    }
}
