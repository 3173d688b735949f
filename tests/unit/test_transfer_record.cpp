#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "transfer_record.hpp"

using namespace chat;
using nlohmann::json;

namespace {

IncomingRecord sample_incoming() {
    IncomingRecord r;
    r.state = IncomingState::receiving;
    r.run = 3;
    r.name = "alice";
    r.reason = "";
    r.peer_reason = "";
    r.token = "tok";
    r.dir = "/home/a/in";
    r.offered_ms = 1700000000123;
    r.offer = {2, 300, 3, {"box"}, 3};
    r.verified = {0, 2};
    r.files_stamped = true;
    r.placed = {{"box", "box (1)"}};
    r.accepted_by = UserIds{1000, 1000, {4, 27}};
    return r;
}

}  // namespace

TEST_SUITE("transfer_record") {
    TEST_CASE("an outgoing record: the doc chatd always stored, and back") {
        const OutgoingRecord r{OutgoingState::done, "", 2, 4096, {"box"}, {{"box", "f"}}, 7, 1234};
        const std::string doc = encode_record(r);
        CHECK(doc == R"({"bytes":1234,"files":7,"names":["box","f"],"placed":["box"],)"
                     R"("reason":"","run":2,"wire_bytes":4096})");
        CHECK(decode_outgoing_record("done", doc) == r);
        for (const auto state : {OutgoingState::sending, OutgoingState::interrupted,
                                 OutgoingState::failed, OutgoingState::cancelled}) {
            OutgoingRecord other = r;
            other.state = state;
            CHECK(decode_outgoing_record(to_string(state), encode_record(other)) == other);
        }
    }

    TEST_CASE("an incoming record: the doc chatd always stored, and back") {
        const IncomingRecord r = sample_incoming();
        const std::string doc = encode_record(r);
        const char* stored = R"json({
            "accepted_by": {"gid": 1000, "groups": [4, 27], "uid": 1000},
            "dir": "/home/a/in", "files_stamped": true, "name": "alice",
            "offer": {"bytes": 300, "entries": 3, "files": 2, "names": ["box"]},
            "offered_ms": 1700000000123, "peer_reason": "", "placed": [["box", "box (1)"]],
            "reason": "", "run": 3, "token": "tok", "verified": [0, 2]})json";
        CHECK(json::parse(doc) == json::parse(stored));
        CHECK(decode_incoming_record("receiving", doc) == r);
        IncomingRecord plain = r;
        plain.accepted_by.reset();
        plain.state = IncomingState::expired;
        CHECK(decode_incoming_record("expired", encode_record(plain)) == plain);
        CHECK(json::parse(encode_record(plain)).contains("accepted_by") == false);
    }

    TEST_CASE("old rows: fields they lack take their defaults") {
        const auto out = decode_outgoing_record("sending", "{}");
        REQUIRE(out);
        CHECK(out->run == 1);
        CHECK(out->wire_bytes == 0);
        CHECK_FALSE(out->names);  // no summary: the manifest is needed
        CHECK(needs_manifest(*out));
        const auto in = decode_incoming_record(
            "offered", R"({"offer":{"files":1,"bytes":2,"entries":1,"names":["a"]}})");
        REQUIRE(in);
        CHECK(in->run == 1);
        CHECK(in->offer == TransferOffer{1, 2, 1, {"a"}, 1});
        CHECK_FALSE(in->offered_ms);
        CHECK_FALSE(in->files_stamped);
        CHECK(in->verified.empty());
        CHECK_FALSE(in->accepted_by);
    }

    TEST_CASE("which outgoing transfers keep their manifest") {
        struct Row {
            OutgoingState state;
            bool has_names;
            bool needs;
        };
        const Row rows[] = {
            {OutgoingState::done, true, false},      {OutgoingState::rejected, true, false},
            {OutgoingState::cancelled, true, false}, {OutgoingState::failed, true, true},
            {OutgoingState::sending, true, true},    {OutgoingState::interrupted, true, true},
            {OutgoingState::done, false, true},
        };
        for (const Row& row : rows) {
            CAPTURE(to_string(row.state));
            OutgoingRecord r;
            r.state = row.state;
            if (row.has_names) r.names = std::vector<std::string>{};
            CHECK(needs_manifest(r) == row.needs);
        }
    }

    TEST_CASE("bad rows") {
        CHECK_FALSE(decode_outgoing_record("done", "not json"));
        CHECK_FALSE(decode_outgoing_record("done", "[1]"));
        CHECK_FALSE(decode_incoming_record("done", ""));
        CHECK_THROWS_AS(decode_outgoing_record("expired", "{}"), std::invalid_argument);
        CHECK_THROWS_AS(decode_incoming_record("sending", "{}"), std::invalid_argument);
        CHECK_THROWS(decode_incoming_record("offered", "{}"));  // no offer
        CHECK_THROWS(decode_outgoing_record("done", R"({"run":"two"})"));
        CHECK_THROWS(decode_incoming_record(
            "offered", R"({"offer":{"files":1,"bytes":2,"entries":1,"names":["a"]},)"
                       R"("accepted_by":{"uid":1}})"));
        CHECK_THROWS(decode_incoming_record(
            "offered", R"({"offer":{"files":1,"bytes":2,"entries":1,"names":["a"]},)"
                       R"("placed":[["only one"]]})"));
    }
}
