// The UDP wire codec: what each kind of datagram decodes to, and why a bad
// one is refused.
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "envelope.hpp"
#include "text.hpp"

using namespace chat;

namespace {
const std::string kId = "0123456789abcdef0123456789abcdef";
}

TEST_SUITE("envelope") {
    TEST_CASE("a message round-trips through encode and decode") {
        const auto d = decode_datagram(encode_message(kId, "hi \"there\"\n\u00e9", "alice"));
        CHECK(d.kind == DatagramKind::message);
        CHECK(d.id == kId);
        CHECK(d.text == "hi \"there\"\n\u00e9");
        CHECK(d.name == "alice");
    }

    TEST_CASE("every control character, quote and backslash round-trips") {
        std::string text = "\"quoted\" \\ back\\slash \u00e9\u4e2d\U0001f600 \x7f";
        for (char c = 1; c < 0x20; ++c) text += c;
        const std::string name = "a\tb\"c";
        const auto encoded = encode_message(kId, text, name, {kId, 12, 9});
        CHECK(encoded.find('\n') == std::string::npos);  // a bundle line stays one line
        const auto d = decode_datagram(encoded);
        REQUIRE(d.kind == DatagramKind::message);
        CHECK(d.text == text);
        CHECK(d.name == name);
        CHECK(d.order == MessageOrderStamp{kId, 12, 9});
    }

    TEST_CASE("a message's place in its sender's stream round-trips; none is seq 0") {
        const MessageOrderStamp order{kId, 7, 3};
        const auto d = decode_datagram(encode_message(kId, "hi", "", order));
        CHECK(d.kind == DatagramKind::message);
        CHECK(d.order == order);
        CHECK(decode_datagram(encode_message(kId, "hi", "")).order == MessageOrderStamp{});
        CHECK(encode_message(kId, "hi", "").find("seq") == std::string::npos);
    }

    TEST_CASE("a bad seq, stream or floor makes the message malformed") {
        const std::string head = R"({"chatd":2,"type":"msg","id":")" + kId + R"(","text":"a",)";
        const std::string stream = R"("stream":")" + kId + R"(")";
        struct Case {
            std::string fields, error;
        };
        const Case cases[] = {
            {R"("seq":0,"floor":0,)" + stream, "message with a bad \"seq\""},
            {R"("seq":-1,"floor":1,)" + stream, "message with a bad \"seq\""},
            {R"("seq":"2","floor":1,)" + stream, "message with a bad \"seq\""},
            {R"("seq":2,"floor":1)", "message with a seq but no valid \"stream\""},
            {R"("seq":2,"floor":1,"stream":"XYZ")", "message with a seq but no valid \"stream\""},
            {R"("seq":2,)" + stream, "message with a seq but no valid \"floor\""},
            {R"("seq":2,"floor":3,)" + stream, "message with a seq but no valid \"floor\""},
            {R"("seq":2,"floor":0,)" + stream, "message with a seq but no valid \"floor\""},
            {R"("seq":2,"floor":[1],)" + stream, "message with a seq but no valid \"floor\""},
        };
        for (const auto& c : cases) {
            CAPTURE(c.fields);
            const auto d = decode_datagram(head + c.fields + "}");
            CHECK(d.kind == DatagramKind::malformed);
            CHECK(d.error == c.error);
        }
    }

    TEST_CASE("an ack round-trips") {
        const auto d = decode_datagram(encode_ack(kId));
        CHECK(d.kind == DatagramKind::ack);
        CHECK(d.id == kId);
    }

    TEST_CASE("plain datagrams are messages; one trailing newline is dropped") {
        struct Case {
            std::string bytes, text;
        };
        const Case cases[] = {
            {"hello", "hello"},
            {"hello\n", "hello"},
            {"hello\r\n", "hello"},
            {"two\nlines\n", "two\nlines"},
            {"[afk] brb", "[afk] brb"},
            {"[not json]", "[not json]"},
            {"  leading space", "  leading space"},
            {"\u00e9t\u00e9 \xF0\x9F\x98\x80", "\u00e9t\u00e9 \xF0\x9F\x98\x80"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.bytes);
            const auto d = decode_datagram(c.bytes);
            CHECK(d.kind == DatagramKind::plain);
            CHECK(d.text == c.text);
        }
        CHECK(encode_plain("hi") == "hi\n");
    }

    TEST_CASE("malformed datagrams say why") {
        struct Case {
            std::string bytes, error;
        };
        const std::string deep = std::string(100, '[') + std::string(100, ']');
        std::string deep_object;
        for (int i = 0; i < 50; ++i) deep_object += "{\"a\":";
        deep_object += "1" + std::string(50, '}');
        const Case cases[] = {
            {"", "empty datagram"},
            {"\n", "blank plain datagram"},
            {"\xff\xfe hi", "not valid UTF-8"},
            {"\xC0\xAF", "not valid UTF-8"},      // overlong '/'
            {"\xED\xA0\x80", "not valid UTF-8"},  // UTF-16 surrogate
            {"caf\xC3", "not valid UTF-8"},       // truncated sequence
            {"{\"chatd\":2,\"type\":", "invalid JSON"},
            {"{oops", "invalid JSON"},
            {deep, "JSON nested too deeply"},
            {deep_object, "JSON nested too deeply"},
            {"[1,2]", "JSON that is not an envelope"},
            {"{\"hello\":1}", "JSON object without a \"chatd\" version"},
            {"{\"chatd\":\"1\"}", "version is not an integer"},
            {"{\"chatd\":1,\"type\":\"msg\"}", "unknown version 1"},
            {"{\"chatd\":2,\"id\":\"" + kId + "\"}", "missing \"type\""},
            {"{\"chatd\":2,\"type\":\"msg\",\"id\":\"xyz\",\"text\":\"a\"}",
             "missing or invalid \"id\""},
            {"{\"chatd\":2,\"type\":\"msg\",\"id\":\"" + kId + "\"}", "message without text"},
            {"{\"chatd\":2,\"type\":\"msg\",\"id\":\"" + kId + "\",\"text\":\"\"}",
             "message without text"},
            {"{\"chatd\":2,\"type\":\"msg\",\"id\":\"" + kId + "\",\"text\":\"a\",\"name\":7}", ""},
            {"{\"chatd\":2,\"type\":\"msg\",\"id\":\"" + kId + "\",\"text\":\"a\",\"name\":\"" +
                 std::string(65, 'n') + "\"}",
             "invalid \"name\""},
            {"{\"chatd\":2,\"type\":\"nope\",\"id\":\"" + kId + "\"}", "unknown type \"nope\""},
        };
        for (const auto& c : cases) {
            CAPTURE(c.bytes);
            const auto d = decode_datagram(c.bytes);
            if (c.error.empty()) {  // a non-string name is ignored, not fatal
                CHECK(d.kind == DatagramKind::message);
                CHECK(d.name.empty());
                continue;
            }
            CHECK(d.kind == DatagramKind::malformed);
            CHECK(d.error == c.error);
        }
    }

    TEST_CASE("transfer offers and answers round-trip") {
        const TransferOffer offer{1200, 5'000'000'000ULL, 1300, {"photos", "notes\n.txt"}, 3};
        auto d = decode_datagram(encode_offer(kId, offer, "alice"));
        CHECK(d.kind == DatagramKind::offer);
        CHECK(d.id == kId);
        CHECK(d.name == "alice");
        CHECK(d.offer == offer);
        // An offer without a run is the first run.
        d = decode_datagram("{\"chatd\":2,\"type\":\"offer\",\"id\":\"" + kId +
                            R"(","files":1,"bytes":2,"entries":1,"names":["a"]})");
        CHECK(d.offer.run == 1);

        const TransferAnswer answers[] = {
            {"pending", "", 0, "", {}},
            {"accepted", "ffeeddccbbaa99887766554433221100", 7890, "", {}},
            {"accepted", "ffeeddccbbaa99887766554433221100", 7890, "", {}, true},
            {"rejected", "", 0, "not enough free space: 5.0 GB offered, 1.2 GB free", {}},
            {"done", "", 0, "", {"photos (1)", "notes\n.txt"}},
        };
        for (const auto& answer : answers) {
            d = decode_datagram(encode_answer(kId, answer));
            CHECK(d.kind == DatagramKind::answer);
            CHECK(d.answer == answer);
        }

        // From an older chatd, or not a boolean: the manifest as a string.
        for (const char* line : {"", R"(,"manifest_line":1)", R"(,"manifest_line":"yes")"}) {
            d = decode_datagram("{\"chatd\":2,\"type\":\"answer\",\"id\":\"" + kId +
                                R"(","state":"accepted","token":")" + kId + R"(","port":7890)" +
                                line + "}");
            CHECK(d.kind == DatagramKind::answer);
            CHECK_FALSE(d.answer.manifest_line);
        }

        d = decode_datagram(encode_cancel(kId, "cancelled by the sender"));
        CHECK(d.kind == DatagramKind::cancel);
        CHECK(d.id == kId);
        CHECK(d.text == "cancelled by the sender");
    }

    TEST_CASE("bad offers and answers say why") {
        const std::string head = "{\"chatd\":2,\"id\":\"" + kId + "\",";
        std::string seventeen_names = "[\"a\"";
        for (int i = 1; i < 17; ++i) seventeen_names += ",\"a\"";
        seventeen_names += "]";
        struct Case {
            std::string bytes, error;
        };
        const Case cases[] = {
            {head + R"("type":"offer","files":1,"bytes":2})",
             "offer without files, bytes and entries"},
            {head + R"("type":"offer","files":-1,"bytes":2,"entries":1,"names":[]})",
             "offer without files, bytes and entries"},
            {head + R"("type":"offer","files":1,"bytes":2,"entries":1})",
             "offer without a list of names"},
            {head + R"("type":"offer","files":1,"bytes":2,"entries":1,"names":[1]})",
             "offer with a bad name"},
            {head + R"("type":"offer","files":1,"bytes":2,"entries":1,"names":)" + seventeen_names +
                 "}",
             "offer without a list of names"},
            {head + R"("type":"answer"})", "answer without a state"},
            {head + R"("type":"answer","state":"maybe"})", "answer with unknown state \"maybe\""},
            {head + R"("type":"answer","state":"accepted","port":7890})",
             "accepted answer without a token"},
            {head + R"("type":"answer","state":"accepted","token":")" + kId + R"(","port":70000})",
             "accepted answer without a port"},
            {head + R"("type":"offer","files":1,"bytes":2,"entries":1,"names":[],"run":0})",
             "offer with a bad run"},
            {head + R"("type":"answer","state":"done","placed":"photos"})",
             "done answer with a bad list of names"},
            {head + R"("type":"answer","state":"done","placed":[7]})",
             "done answer with a bad name"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.bytes);
            const auto d = decode_datagram(c.bytes);
            CHECK(d.kind == DatagramKind::malformed);
            CHECK(d.error == c.error);
        }
    }

    TEST_CASE("message ids") {
        CHECK(is_valid_message_id(kId));
        CHECK(is_valid_message_id("0123456789abcdef"));
        CHECK_FALSE(is_valid_message_id("0123456789abcde"));     // too short
        CHECK_FALSE(is_valid_message_id(std::string(65, 'a')));  // too long
        CHECK_FALSE(is_valid_message_id("0123456789ABCDEF"));    // upper case
        CHECK_FALSE(is_valid_message_id("0123456789abcdeg"));
    }

    TEST_CASE("nesting depth ignores brackets inside strings") {
        CHECK_FALSE(json_nesting_exceeds("{\"a\":\"[[[[[[[[[[[[\"}", 2));
        CHECK_FALSE(json_nesting_exceeds("{\"a\":\"\\\"[[[[[[[[\"}", 2));
        CHECK(json_nesting_exceeds("[[[", 2));
        CHECK_FALSE(json_nesting_exceeds("[[]]", 2));
    }

    TEST_CASE("the largest UDP payload decodes as one plain message") {
        const std::string big(kMaxUdpPayload, 'x');
        const auto d = decode_datagram(big);
        CHECK(d.kind == DatagramKind::plain);
        CHECK(d.text.size() == kMaxUdpPayload);
    }

    TEST_CASE("bundles: envelopes joined a line each, within the budget, in order") {
        const std::string a(10, 'a'), b(20, 'b'), c(30, 'c'), big(100, 'x');
        struct Case {
            std::vector<std::string> envelopes;
            std::size_t budget;
            std::vector<std::string> datagrams;
        };
        const Case cases[] = {
            {{}, 100, {}},
            {{a}, 100, {a}},
            {{a, b, c}, 100, {a + "\n" + b + "\n" + c}},
            {{a, b, c}, 31, {a + "\n" + b, c}},  // 10 + 1 + 20 fits exactly
            {{a, b, c}, 30, {a, b, c}},
            {{a, big, b}, 50, {a, big, b}},  // too big for any bundle: alone
            {{big, a}, 50, {big, a}},
        };
        for (const auto& c : cases) {
            CAPTURE(c.budget);
            CHECK(bundle_envelopes(c.envelopes, c.budget) == c.datagrams);
        }
        const std::vector<std::string> many(kMaxBundled + 1, "x");
        const auto bundled = bundle_envelopes(many, 1 << 20);
        REQUIRE(bundled.size() == 2);
        CHECK(bundled[1] == "x");
    }

    TEST_CASE("a bundle decodes to each of its envelopes, in order") {
        const MessageOrderStamp order{kId, 2, 1};
        const std::string other = "fedcba9876543210fedcba9876543210";
        const auto datagrams =
            bundle_envelopes({encode_message(kId, "one", "al", order), encode_ack(other),
                              encode_message(other, "two\nlines", "al", {kId, 3, 1})});
        REQUIRE(datagrams.size() == 1);
        const auto decoded = decode_datagrams(datagrams[0]);
        REQUIRE(decoded.size() == 3);
        CHECK(decoded[0].kind == DatagramKind::message);
        CHECK(decoded[0].text == "one");
        CHECK(decoded[0].order == order);
        CHECK(decoded[1].kind == DatagramKind::ack);
        CHECK(decoded[1].id == other);
        CHECK(decoded[2].text == "two\nlines");  // an escaped newline is not a line break
        CHECK(decoded[2].order.seq == 3);
    }

    TEST_CASE("a bundle's bad lines are malformed alone; too many lines, all of it") {
        const std::string ack = encode_ack(kId);
        struct Case {
            std::string bytes;
            std::vector<std::string> errors;  // "" for a good envelope
        };
        std::string too_many;
        for (std::size_t i = 0; i <= kMaxBundled; ++i) too_many += ack + "\n";
        const Case cases[] = {
            {ack + "\n{\"chatd\":2}\n" + ack, {"", "missing \"type\"", ""}},
            {ack + "\nhello\n" + ack, {"", "a bundle line that is not JSON", ""}},
            {ack + "\n\n\r\n" + ack + "\r\n", {"", ""}},  // blank lines and CRs are skipped
            {"{not json\nat all", {"invalid JSON", "a bundle line that is not JSON"}},
            {too_many, {"a bundle of more than 64 envelopes"}},
            {ack + "\n", {""}},  // a lone envelope with its newline
            {"plain text\nover two lines", {""}},
        };
        for (const auto& c : cases) {
            CAPTURE(c.bytes.substr(0, 80));
            const auto decoded = decode_datagrams(c.bytes);
            REQUIRE(decoded.size() == c.errors.size());
            for (std::size_t i = 0; i < decoded.size(); ++i) {
                CHECK(decoded[i].error == c.errors[i]);
                CHECK((decoded[i].kind == DatagramKind::malformed) == !c.errors[i].empty());
            }
        }
    }

    TEST_CASE("the fast path for chatd's own layout agrees with the generic parser") {
        const std::string id = R"("id":")" + kId + R"(")";
        const std::string head = R"({"chatd":2,"type":"msg",)" + id;
        const std::string order = R"(,"stream":")" + kId + R"(","seq":)";
        const std::string cases[] = {
            encode_message(kId, "plain", "alice", {kId, 3, 2}),
            encode_message(kId, std::string("nul\0 and \x01 \"q\" \\", 15), ""),
            encode_ack(kId),
            head + R"(,"text":"\u00e9\ud83d\ude00 \/ \b\f"})",  // escapes above 0x7f: generic
            head + R"(,"text":"\u0041\u001f"})",
            head + R"(,"text":""})",
            head + R"(,"text":"x","name":""})",
            head + R"(,"text":"x","name":")" + std::string(65, 'n') + R"("})",
            head + R"(,"text":"x")" + order + R"(07,"floor":1})",
            head + R"(,"text":"x")" + order + R"(7,"floor":8})",
            head + R"(,"text":"x")" + order + R"(7,"floor":0})",
            head + R"(,"text":"x")" + order + R"(0,"floor":0})",
            head + R"(,"text":"x")" + order + R"(7.0,"floor":1})",
            head + R"(,"text":"x")" + order + R"(1e3,"floor":1})",
            head + R"(,"text":"x")" + order + R"(99999999999999999999,"floor":1})",
            head + R"(,"text":"x")" + order + R"(999999999999999999,"floor":1})",
            head + R"(,"text":"x","stream":"abc","seq":2,"floor":1})",
            head + R"(,"text":"x","extra":true})",
            head + R"(,"text":"x"} )",
            head + R"(,"text":"bad \q escape"})",
            head + R"(,"text":"unterminated})",
            R"({"chatd":2,"type":"ack","id":"ABC"})",
            R"({"chatd":2,"type":"ack",)" + id + R"(,"more":1})",
            R"({"chatd":2,"type":"ack",)" + id + "}",
            R"({"type":"ack","chatd":2,)" + id + "}",
        };
        for (const auto& line : cases) {
            CAPTURE(line);
            const auto fast = decode_datagram(line);
            const auto generic = detail::decode_envelope_generic(trim(line));
            CHECK(fast.kind == generic.kind);
            CHECK(fast.id == generic.id);
            CHECK(fast.text == generic.text);
            CHECK(fast.name == generic.name);
            CHECK(fast.order == generic.order);
            CHECK(fast.error == generic.error);
        }
        CHECK(decode_datagram(cases[1]).text == std::string("nul\0 and \x01 \"q\" \\", 15));
        CHECK(decode_datagram(cases[3]).text == "\u00e9\U0001f600 / \b\f");
    }

    TEST_CASE("a message id carries the sender's clock") {
        constexpr std::int64_t now = 1'764'183'216'123LL;  // 0x19ac1838ffb
        struct Case {
            std::string id;
            std::optional<std::int64_t> clock;
        };
        const Case cases[] = {
            {"019ac1838ffb" + std::string(20, 'a'), now},
            {"019ac1838ffa" + std::string(20, '0'), now - 1},
            {"019ac1838ffb" + std::string(4, 'a'), std::nullopt},           // not 32 digits
            {"019AC1838FFB" + std::string(20, 'a'), std::nullopt},          // not ours
            {"ffffffffffff" + std::string(20, 'a'), std::nullopt},          // far future
            {"000000000001" + std::string(20, 'a'), std::nullopt},          // random, 1970
            {"019ac6a9ebfa" + std::string(20, 'a'), now + 86'400'000 - 1},  // a day ahead
            {"019ac6a9ebfc" + std::string(20, 'a'), std::nullopt},          // more than a day
            {"", std::nullopt},
        };
        for (const auto& c : cases) {
            CAPTURE(c.id);
            CHECK(message_id_clock_ms(c.id, now) == c.clock);
        }
    }
}
