// The safety number: fixed keys and digests, expected values computed
// apart from this code with Python's hashlib (see each case).
#include <doctest/doctest.h>

#include <string>

#include "peer_keys.hpp"
#include "safety_number.hpp"

using namespace chat;

namespace {

KeyBytes counting_up() {
    KeyBytes key{};
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i);
    return key;
}
KeyBytes counting_down() {
    KeyBytes key{};
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(0xff - i);
    return key;
}
KeyBytes filled(std::uint8_t byte) {
    KeyBytes key{};
    key.fill(byte);
    return key;
}

}  // namespace

TEST_SUITE("safety_number") {
    TEST_CASE("the digits are 5 bytes at a time, big-endian, mod 100000") {
        // /usr/bin/python3: d = bytes(range(32)); e = b"\xff" * 32
        // " ".join("%05d" % (int.from_bytes(x[i*5:i*5+5], "big") % 100000)
        //          for x in (d, e) for i in range(6))
        // "%06d" % (int.from_bytes(d[:4], "big") % 1000000)
        const KeyDigest first = counting_up();
        const KeyDigest second = filled(0xff);
        const SafetyNumber number = format_safety_number(first, second);
        CHECK(number.digits ==
              "09060 60585 12110 63635 15160 66685 27775 27775 27775 27775 27775 27775");
        CHECK(number.short_code == "066051");
        CHECK(format_safety_number(KeyDigest{}, KeyDigest{}).digits ==
              "00000 00000 00000 00000 00000 00000 00000 00000 00000 00000 00000 00000");
        CHECK(format_safety_number(KeyDigest{}, KeyDigest{}).short_code == "000000");
    }

    TEST_CASE("the hashed input is the label and both keys, lower first, whichever is ours") {
        const auto input = safety_number_input(counting_down(), counting_up());
        REQUIRE(input.size() == kSafetyNumberLabel.size() + 64);
        CHECK(std::string(input.begin(), input.begin() + 22) == "chatd safety number v1");
        CHECK(input[22] == 0x00);
        CHECK(input[22 + 31] == 0x1f);
        CHECK(input[22 + 32] == 0xff);
        CHECK(input == safety_number_input(counting_up(), counting_down()));
    }

    TEST_CASE("both sides compute the same number from the two keys") {
        // lo, hi = sorted([a, b]); d1 = sha256(b"chatd safety number v1" + lo + hi)
        // d2 = sha256(d1); then the digits as above from d1 and d2.
        struct Case {
            KeyBytes a, b;
            const char *digits, *short_code;
        };
        const Case cases[] = {
            {counting_up(), counting_down(),
             "15879 26512 35684 55554 63649 75502 53382 96597 51745 53712 96093 39774", "668812"},
            {filled(0), filled(1),
             "23783 34629 89098 68348 55442 68363 90477 68478 27490 69692 94335 42845", "524702"},
            {counting_up(), counting_up(),
             "59845 68652 59478 27004 49924 85639 06611 23979 83077 85804 85539 32210", "462343"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.digits);
            const SafetyNumber ours = safety_number_of(c.a, c.b);
            CHECK(ours.digits == c.digits);
            CHECK(ours.short_code == c.short_code);
            CHECK(safety_number_of(c.b, c.a) == ours);
        }
    }
}
