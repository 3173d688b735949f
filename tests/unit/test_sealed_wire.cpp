#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "sealed_wire.hpp"

using namespace chat::crypto;

namespace {

std::string hex_of(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (const char c : bytes) {
        const auto b = static_cast<unsigned char>(c);
        out += kDigits[b >> 4];
        out += kDigits[b & 0xf];
    }
    return out;
}

Bytes filled(std::size_t n, std::uint8_t value) { return Bytes(n, value); }

// One well-formed packet of each type, as the table below checks them.
std::vector<std::string> one_of_each() {
    Cookie cookie;
    cookie.fill(0xcc);
    CipherState send;
    send.initialize_key(Key{});
    std::string data;
    seal_data(send, 7, 3, "hi", data);
    return {encode_init(PacketType::xx_init, 1, filled(kXxMsg1Len, 0xa1)),
            encode_init(PacketType::ik_init, 2, filled(kIkMsg1Len, 0xa2)),
            encode_response(3, 4, filled(kXxMsg2Len, 0xa3)),
            encode_response(5, 6, filled(kIkMsg2Len, 0xa4)),
            encode_xx_final(7, filled(kXxMsg3Len, 0xa5)),
            encode_cookie(8, cookie),
            data};
}

}  // namespace

TEST_SUITE("sealed_wire") {
    TEST_CASE("each type has its exact layout and length") {
        const auto packets = one_of_each();
        const std::vector<std::size_t> lengths = {53, 117, 105, 57, 69, 21, 29 + 2};
        for (std::size_t i = 0; i < packets.size(); ++i) CHECK(packets[i].size() == lengths[i]);
        CHECK(hex_of(packets[0].substr(0, 5)) == "f801000000");
        CHECK(hex_of(packets[0].substr(37)) == std::string(32, '0'));
        CHECK(hex_of(packets[2].substr(0, 9)) == "fa0300000004000000");
        CHECK(hex_of(packets[4].substr(0, 5)) == "fb07000000");
        CHECK(hex_of(packets[5]) == "fc08000000" + std::string(32, 'c'));
        CHECK(hex_of(packets[6].substr(0, 13)) == "fd070000000300000000000000");
    }

    TEST_CASE("decoding gives back the fields") {
        const auto packets = one_of_each();
        const Packet xx = decode_packet(packets[0]);
        REQUIRE(xx.error == PacketError::none);
        CHECK(xx.type == PacketType::xx_init);
        CHECK(xx.sender_index == 1);
        CHECK(xx.noise.size() == kXxMsg1Len);
        CHECK(xx.signed_part.size() == kXxInitLen - kMac2Len);
        const Packet ik_response = decode_packet(packets[3]);
        REQUIRE(ik_response.error == PacketError::none);
        CHECK(ik_response.sender_index == 5);
        CHECK(ik_response.receiver_index == 6);
        CHECK(ik_response.noise.size() == kIkMsg2Len);
        const Packet cookie = decode_packet(packets[5]);
        CHECK(cookie.receiver_index == 8);
        CHECK(cookie.cookie[15] == 0xcc);
        const Packet data = decode_packet(packets[6]);
        REQUIRE(data.error == PacketError::none);
        CHECK(data.receiver_index == 7);
        CHECK(data.counter == 3);
        CHECK(data.header.size() == kDataHeaderLen);
    }

    TEST_CASE("every truncation and every extension of a fixed size is refused") {
        const auto packets = one_of_each();
        for (std::size_t i = 0; i + 1 < packets.size(); ++i) {
            const std::string& p = packets[i];
            for (std::size_t n = 1; n < p.size(); ++n) {
                const bool other_response = p[0] == static_cast<char>(PacketType::response) &&
                                            (n == kIkResponseLen || n == kXxResponseLen);
                if (other_response) continue;
                CAPTURE(i);
                CAPTURE(n);
                CHECK(decode_packet(p.substr(0, n)).error == PacketError::bad_length);
            }
            CHECK(decode_packet(p + "x").error == PacketError::bad_length);
        }
        const std::string& data = packets.back();
        for (std::size_t n = 1; n < kDataOverhead; ++n)
            CHECK(decode_packet(data.substr(0, n)).error == PacketError::bad_length);
        CHECK(decode_packet(data.substr(0, kDataOverhead)).error == PacketError::none);
    }

    TEST_CASE("wrong types, empty input and zero indexes are refused") {
        CHECK(decode_packet("").error == PacketError::empty);
        for (const char first : {'{', 'a', '\xf7', '\xfe', '\xff', '\0'})
            CHECK(decode_packet(std::string(1, first) + std::string(60, '\1')).error ==
                  PacketError::unknown_type);
        CHECK(decode_packet(encode_init(PacketType::xx_init, 0, filled(kXxMsg1Len, 1))).error ==
              PacketError::zero_index);
        CHECK(decode_packet(encode_response(1, 0, filled(kIkMsg2Len, 1))).error ==
              PacketError::zero_index);
        CHECK(decode_packet(encode_xx_final(0, filled(kXxMsg3Len, 1))).error ==
              PacketError::zero_index);
        CHECK(is_sealed_packet("\xf8"));
        CHECK_FALSE(is_sealed_packet("hello"));
        CHECK_FALSE(is_sealed_packet(""));
    }

    TEST_CASE("data seals and opens; a flipped byte anywhere fails") {
        Key key{};
        key[0] = 9;
        CipherState send;
        send.initialize_key(key);
        CipherState receive;
        receive.initialize_key(key);
        std::string packet;
        seal_data(send, 42, 1000, "hello, sealed", packet);
        const auto opened = open_data(receive, decode_packet(packet));
        REQUIRE(opened.has_value());
        CHECK(std::string(opened->begin(), opened->end()) == "hello, sealed");
        for (std::size_t i = 1; i < packet.size(); ++i) {
            std::string tampered = packet;
            tampered[i] = static_cast<char>(tampered[i] ^ 1);
            const Packet p = decode_packet(tampered);
            if (p.error != PacketError::none) continue;  // a zeroed index
            CAPTURE(i);
            CHECK_FALSE(open_data(receive, p).has_value());
        }
    }

    TEST_CASE("cookie and mac2") {
        Key secret{};
        secret[31] = 1;
        const Cookie a = make_cookie(secret, "127.0.0.1:7000");
        CHECK(a == make_cookie(secret, "127.0.0.1:7000"));
        CHECK(a != make_cookie(secret, "127.0.0.1:7001"));
        std::string init = encode_init(PacketType::xx_init, 5, filled(kXxMsg1Len, 2));
        CHECK_FALSE(mac2_matches(a, decode_packet(init)));
        stamp_mac2(init, a);
        CHECK(mac2_matches(a, decode_packet(init)));
        CHECK_FALSE(mac2_matches(make_cookie(secret, "10.0.0.1:1"), decode_packet(init)));
        // mac2 covers every byte before it.
        init[3] = static_cast<char>(init[3] ^ 4);
        CHECK_FALSE(mac2_matches(a, decode_packet(init)));
    }

    TEST_CASE("random indexes are never zero") {
        for (int i = 0; i < 100; ++i) CHECK(random_index() != 0);
    }
}
