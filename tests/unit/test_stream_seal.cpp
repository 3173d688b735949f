#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "stream_seal.hpp"

using namespace chat::crypto;

namespace {

const std::string kTransfer = "0123456789abcdef0123456789abcdef";
const std::string kSecret = "a transfer's secret, 32 bytes or more";

struct Pair {
    StreamHello hello = StreamHello::make(kTransfer);
    StreamReply reply = StreamReply::make(*pick_cipher(hello.ciphers));
    StreamKeys client = StreamKeys::derive(kSecret, hello, reply, true);
    StreamKeys server = StreamKeys::derive(kSecret, hello, reply, false);
};

// Opens every record in `wire`, appending the data; returns the types.
std::vector<RecordType> open_all(RecordOpener& opener, const std::vector<char>& wire,
                                 std::string& data) {
    std::vector<RecordType> types;
    for (std::size_t at = 0; at < wire.size();) {
        // A length changed in flight makes a record the bytes cannot hold.
        if (wire.size() - at < kRecordHeaderLen) throw StreamSealError("cut");
        const std::size_t body = RecordOpener::body_length(wire.data() + at);
        if (wire.size() - at - kRecordHeaderLen < body) throw StreamSealError("cut");
        std::vector<char> out(body - kTagLen);
        const auto [type, n] =
            opener.open(wire.data() + at, wire.data() + at + kRecordHeaderLen, body, out.data());
        data.append(out.data(), n);
        types.push_back(type);
        at += kRecordHeaderLen + body;
    }
    return types;
}

}  // namespace

TEST_SUITE("stream_seal") {
    TEST_CASE("a hello and a reply round-trip, and what is not one is refused") {
        const StreamHello hello = StreamHello::make(kTransfer);
        const auto bytes = hello.encode();
        const StreamHello back = StreamHello::decode(bytes);
        CHECK(back.transfer == kTransfer);
        CHECK(back.nonce == hello.nonce);
        CHECK(back.ciphers == ciphers_available());
        auto bad = bytes;
        bad[0] = 'X';
        CHECK_THROWS_WITH_AS(StreamHello::decode(bad), "not a sealed transfer stream",
                             StreamSealError);
        bad = bytes;
        bad[10] = 'Z';
        CHECK_THROWS_WITH_AS(StreamHello::decode(bad), "a bad transfer id", StreamSealError);
        bad = bytes;
        bad[4] = 0;
        CHECK_THROWS_WITH_AS(StreamHello::decode(bad), "no cipher offered", StreamSealError);
        CHECK_THROWS_AS(StreamHello::decode(ByteView(bytes.data(), 10)), StreamSealError);
        const StreamReply reply = StreamReply::make(StreamCipher::chacha20poly1305);
        CHECK(StreamReply::decode(reply.encode()).nonce == reply.nonce);
        auto bad_reply = reply.encode();
        bad_reply[0] = 9;
        CHECK_THROWS_WITH_AS(StreamReply::decode(bad_reply), "a bad stream reply", StreamSealError);
    }

    TEST_CASE("the server picks AES-256-GCM when both have it, else ChaCha20-Poly1305") {
        CHECK(pick_cipher(1) == StreamCipher::chacha20poly1305);
        CHECK(pick_cipher(0) == std::nullopt);
        CHECK(pick_cipher(3) == ((ciphers_available() & 2) ? StreamCipher::aes256gcm
                                                           : StreamCipher::chacha20poly1305));
        CHECK(std::string(cipher_name(StreamCipher::aes256gcm)) == "aes-256-gcm");
    }

    TEST_CASE("each side's send key is the other's receive key, and they differ by direction") {
        const Pair p;
        CHECK(p.client.send.key == p.server.receive.key);
        CHECK(p.client.receive.key == p.server.send.key);
        CHECK(p.client.send.key != p.client.receive.key);
        // Another secret, another hello or another reply: other keys.
        CHECK(StreamKeys::derive("another secret", p.hello, p.reply, true).send.key !=
              p.client.send.key);
        StreamHello hello2 = p.hello;
        hello2.nonce[0] ^= 1;
        CHECK(StreamKeys::derive(kSecret, hello2, p.reply, true).send.key != p.client.send.key);
        StreamReply reply2 = p.reply;
        reply2.nonce[31] ^= 1;
        CHECK(StreamKeys::derive(kSecret, p.hello, reply2, true).send.key != p.client.send.key);
    }

    TEST_CASE("keys handed to a worker come back the same, counters included") {
        Pair p;
        p.server.receive.counter = 1;
        const StreamKeys back = StreamKeys::decode(p.server.encode());
        CHECK(back.send.key == p.server.send.key);
        CHECK(back.receive.key == p.server.receive.key);
        CHECK(back.receive.counter == 1);
        CHECK(back.send.cipher == p.server.send.cipher);
        for (const char* bad : {"", "1:00:0:00:0", "7:" /* short */, "x:y:z:w:v"})
            CHECK_THROWS_WITH_AS(StreamKeys::decode(bad), "bad stream keys", StreamSealError);
    }

    TEST_CASE("records open in order with both ciphers; large data is split") {
        for (const StreamCipher cipher :
             {StreamCipher::chacha20poly1305, StreamCipher::aes256gcm}) {
            if (!(ciphers_available() & static_cast<std::uint8_t>(cipher))) continue;
            CAPTURE(cipher_name(cipher));
            Pair p;
            p.reply.cipher = cipher;
            p.client = StreamKeys::derive(kSecret, p.hello, p.reply, true);
            p.server = StreamKeys::derive(kSecret, p.hello, p.reply, false);
            RecordSealer sealer(p.client.send);
            RecordOpener opener(p.server.receive);
            const std::string big(kMaxRecordData * 2 + 5, 'x');
            std::vector<char> wire;
            sealer.seal("hello\n", 6, RecordType::data, wire);
            sealer.seal(big.data(), big.size(), RecordType::data, wire);
            sealer.seal(nullptr, 0, RecordType::close, wire);
            CHECK(sealer.counter() == 5);
            std::string data;
            const auto types = open_all(opener, wire, data);
            CHECK(data == "hello\n" + big);
            CHECK(types == std::vector<RecordType>{RecordType::data, RecordType::data,
                                                   RecordType::data, RecordType::data,
                                                   RecordType::close});
            CHECK(opener.closed());
            CHECK(wire.size() == 6 + big.size() + 5 * (kRecordHeaderLen + 1 + kTagLen));
            // The data does not appear on the wire.
            CHECK(std::string(wire.begin(), wire.end()).find("hello") == std::string::npos);
        }
    }

    TEST_CASE("tampering, reordering, replay, a wrong key and a wrong direction are refused") {
        Pair p;
        std::vector<char> wire;
        {
            RecordSealer sealer(p.client.send);
            sealer.seal("one", 3, RecordType::data, wire);
            sealer.seal("two", 3, RecordType::data, wire);
        }
        const std::size_t record = kRecordHeaderLen + 3 + 1 + kTagLen;
        const auto first = std::vector<char>(wire.begin(), wire.begin() + record);
        const auto second = std::vector<char>(wire.begin() + record, wire.end());
        const auto refused = [](const StreamDirection& d, std::vector<char> bytes) {
            RecordOpener opener(d);
            std::string data;
            CHECK_THROWS_AS(open_all(opener, bytes, data), StreamSealError);
        };
        for (std::size_t i = 0; i < first.size(); ++i) {
            auto bad = first;
            bad[i] ^= 0x01;
            CAPTURE(i);
            refused(p.server.receive, bad);
        }
        refused(p.server.receive, second);  // out of order: the second first
        auto twice = first;
        twice.insert(twice.end(), first.begin(), first.end());
        refused(p.server.receive, twice);  // replayed
        refused(p.client.receive, first);  // the wrong direction's key
        refused(StreamKeys::derive("wrong", p.hello, p.reply, false).receive, first);
        std::vector<char> after_close;
        {
            RecordSealer sealer(p.client.send);
            sealer.seal(nullptr, 0, RecordType::close, after_close);
            sealer.seal("more", 4, RecordType::data, after_close);
        }
        RecordOpener opener(p.server.receive);
        std::string data;
        CHECK_THROWS_WITH_AS(open_all(opener, after_close, data),
                             "a sealed record after the stream's close", StreamSealError);
    }

    TEST_CASE("record lengths outside 17 .. 64 KiB + 17 are refused before any read") {
        const char zero[4] = {0, 0, 0, 0};
        const char small[4] = {0, 0, 0, 16};
        const char huge[4] = {0, 2, 0, 0};
        const char max[4] = {0, 1, 0, 17};
        CHECK_THROWS_WITH_AS(RecordOpener::body_length(zero), "a sealed record of a bad length",
                             StreamSealError);
        CHECK_THROWS_AS(RecordOpener::body_length(small), StreamSealError);
        CHECK_THROWS_AS(RecordOpener::body_length(huge), StreamSealError);
        CHECK(RecordOpener::body_length(max) == kMaxRecordBody);
    }
}
