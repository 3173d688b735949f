#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "control_protocol.hpp"

using namespace chat;

namespace {
std::string repeat(const std::string& text, int times) {
    std::string out;
    for (int i = 0; i < times; ++i) out += text;
    return out;
}
}  // namespace

TEST_SUITE("control_protocol") {
    TEST_CASE("a decide action is named as its request's cmd, both ways") {
        const struct {
            DecideAction action;
            const char* name;
        } rows[] = {
            {DecideAction::accept, "accept"},
            {DecideAction::reject, "reject"},
            {DecideAction::cancel, "cancel"},
        };
        for (const auto& row : rows) {
            CAPTURE(row.name);
            CHECK(to_string(row.action) == row.name);
            CHECK(decide_action_from_string(row.name) == row.action);
            const std::string line = encode_request(DecideRequest{row.action, 3, "", ""});
            CHECK(line.find(std::string(R"("cmd":")") + row.name + "\"") != std::string::npos);
        }
        for (const char* unknown : {"", "Accept", "accepted", "send"}) {
            CAPTURE(unknown);
            CHECK_FALSE(decide_action_from_string(unknown).has_value());
        }
    }

    TEST_CASE("every request round-trips") {
        const Request requests[] = {
            SendRequest{"bob", "hi\nthere", true, false, 2.5, {}},
            SendRequest{"[::1]:7890", "x", false, true, 10, {}},
            SendRequest{"bob", "", false, true, 10, {"one", "two\nlines", ""}},
            InboxRequest{5, true, "10.0.0.5"},
            InboxRequest{},
            HistoryRequest{"bob", 7},
            StatusRequest{},
            PeersRequest{},
            IdRequest{},
            TransferRequest{"bob", R"({"version":1,"entries":[]})", 3, false},
            TransferRequest{"é \"b\"\t", "{\"p\":\"a\\\\b\u0001 ü\"}", 18800, true},
            TransfersRequest{true},
            DecideRequest{DecideAction::accept, 7, "/srv/incoming", ""},
            DecideRequest{DecideAction::reject, 8, "", ""},
            DecideRequest{DecideAction::cancel, 9, "", ""},
            DecideRequest{DecideAction::cancel, 0, "", "a1b2c3"},
            DecideRequest{DecideAction::accept, 123456, "", "123456"},  // a number or an id's start
            StallRequest{"receiver", 1.5},
            VerifyRequest{"bob", false, ""},
            VerifyRequest{"[::1]:7890", true, "12345 67890"},
            TrustRequest{"bob", "P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2"},
        };
        for (const auto& request : requests) {
            const std::string line = encode_request(request);
            // Written directly, a transfer request is what json would write,
            // and its manifest the next line, as it is.
            if (const auto* t = std::get_if<TransferRequest>(&request)) {
                const auto end = line.find('\n');
                CHECK(line.substr(0, end) == nlohmann::json{{"cmd", "transfer"},
                                                            {"peer", t->peer},
                                                            {"manifest_follows", true},
                                                            {"fds", t->fds},
                                                            {"wait", t->wait}}
                                                 .dump());
                CHECK(line.substr(end + 1) == t->manifest + "\n");
                auto parsed = std::get<TransferRequest>(parse_request(line.substr(0, end)));
                CHECK(parsed.manifest_follows);
                CHECK(parsed.manifest.empty());
                parsed.manifest = t->manifest;
                parsed.manifest_follows = false;
                CHECK(parsed == *t);
                continue;
            }
            CHECK(line.back() == '\n');
            CHECK(line.find('\n') == line.size() - 1);  // one line, whatever the text
            CHECK(parse_request(line) == request);
        }
    }

    TEST_CASE("a transfer's manifest goes in the line only when it cannot follow it") {
        // A manifest with a newline (encode_manifest never writes one) would
        // end the line after the request early: it is escaped into the request.
        const TransferRequest request{"bob", "{\n}", 1, true};
        const std::string line = encode_request(request);
        CHECK(line.find('\n') == line.size() - 1);
        CHECK(std::get<TransferRequest>(parse_request(line)) == request);
        // For a chatd from before manifest_follows: one line, manifest as a field.
        const TransferRequest older{"bob", R"({"version":1,"entries":[]})", 3, false};
        const std::string field_form = encode_transfer_request_with_manifest_field(older);
        CHECK(field_form == nlohmann::json{{"cmd", "transfer"},
                                           {"peer", older.peer},
                                           {"manifest", older.manifest},
                                           {"fds", older.fds},
                                           {"wait", older.wait}}
                                    .dump() +
                                "\n");
        CHECK(std::get<TransferRequest>(parse_request(field_form)) == older);
        // As an older chatcli writes it.
        CHECK(std::get<TransferRequest>(parse_request(
                  R"({"cmd":"transfer","peer":"p","manifest":"{}","fds":0,"wait":true})")) ==
              TransferRequest{"p", "{}", 0, true});
    }

    TEST_CASE("defaults for missing optional fields") {
        const auto send =
            std::get<SendRequest>(parse_request(R"({"cmd":"send","peer":"p","text":"t"})"));
        CHECK(send.wait);
        CHECK_FALSE(send.plain);
        CHECK(send.timeout_seconds == 10);
        CHECK(std::get<InboxRequest>(parse_request(R"({"cmd":"inbox"})")).limit == 100);
    }

    TEST_CASE("bad requests say why") {
        struct Case {
            std::string line, error;
        };
        const Case cases[] = {
            {"", "request is not valid JSON"},
            {"{", "request is not valid JSON"},
            {"[]", "request must be a JSON object"},
            {"{}", "missing string field 'cmd'"},
            {R"({"cmd":5})", "missing string field 'cmd'"},
            {R"({"cmd":"dance"})", "unknown command 'dance'"},
            {R"({"cmd":"send","text":"t"})", "missing string field 'peer'"},
            {R"({"cmd":"send","peer":"p"})", "missing string field 'text'"},
            {R"({"cmd":"send","peer":"p","text":"t","texts":["a"]})",
             "give 'text' or 'texts', not both"},
            {R"({"cmd":"send","peer":"p","texts":[]})",
             "field 'texts' must be an array of 1 to 10000 strings"},
            {R"({"cmd":"send","peer":"p","texts":"a"})",
             "field 'texts' must be an array of 1 to 10000 strings"},
            {R"({"cmd":"send","peer":"p","texts":["a",5]})",
             "field 'texts' must hold only strings"},
            {R"({"cmd":"send","peer":"p","texts":["a")" + repeat(R"(,"a")", 10'000) + "]}",
             "field 'texts' must be an array of 1 to 10000 strings"},
            {R"({"cmd":"send","peer":"p","text":"t","wait":"yes"})",
             "field 'wait' has the wrong type"},
            {R"({"cmd":"send","peer":"p","text":"t","timeout":0})",
             "field 'timeout' must be more than 0 and at most 86400 seconds"},
            {R"({"cmd":"inbox","limit":-1})", "field 'limit' must be 0 to 1000000"},
            {R"({"cmd":"inbox","limit":"x"})", "field 'limit' has the wrong type"},
            {std::string(kMaxRequestBytes + 1, ' '), "request too large"},
            {R"({"cmd":"transfer","peer":"p"})", "missing string field 'manifest'"},
            {R"({"cmd":"transfer","peer":"p","manifest":"{}","fds":-1})",
             "field 'fds' is out of range"},
            {R"({"cmd":"accept"})", "field 'id' must be a transfer number"},
            {R"({"cmd":"reject","id":true})", "field 'id' has the wrong type"},
            {R"({"cmd":"reject","id":"abc"})",
             "field 'id' must be a transfer's number or at least 6 hex digits of its id"},
            {R"({"cmd":"reject","id":"a1b2c3x"})",
             "field 'id' must be a transfer's number or at least 6 hex digits of its id"},
            {R"({"cmd":"verify"})", "missing string field 'peer'"},
            {R"({"cmd":"verify","peer":"p","confirm":"yes"})",
             "field 'confirm' has the wrong type"},
            {R"({"cmd":"trust","peer":"p"})", "missing string field 'fingerprint'"},
            {R"({"cmd":"trust","fingerprint":"F"})", "missing string field 'peer'"},
            {R"({"cmd":"stall","loop":"kernel"})",
             "field 'loop' must be receiver, sender, store or control"},
            {R"({"cmd":"stall","loop":"store","seconds":61})",
             "field 'seconds' must be more than 0 and at most 60"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.line.substr(0, 60));
            CHECK_THROWS_WITH_AS(parse_request(c.line), c.error.c_str(), ProtocolError);
        }
    }

    TEST_CASE("message views round-trip through JSON, with the documented keys") {
        const MessageView in{7,    "in",      "10.0.0.5:7890", "alice", "hi", 1'764'183'216'123LL,
                             true, "received"};
        const auto doc = message_to_json(in);
        CHECK(doc.at("from") == "10.0.0.5:7890");
        CHECK(doc.at("ts") == "2025-11-26T18:53:36.123Z");
        CHECK(doc.at("plain") == true);
        CHECK(message_from_json(doc) == in);

        const MessageView out{8, "out", "[::1]:7890", "", "yo", 1000, false, "queued"};
        const auto out_doc = message_to_json(out);
        CHECK(out_doc.at("to") == "[::1]:7890");
        CHECK_FALSE(out_doc.contains("name"));
        CHECK(message_from_json(out_doc) == out);
    }

    TEST_CASE("error replies are one line of JSON") {
        const std::string reply = error_reply(codes::bad_peer, "no such \"peer\"\n");
        CHECK(reply.find('\n') == reply.size() - 1);
        const auto doc = nlohmann::json::parse(reply);
        CHECK(doc.at("ok") == false);
        CHECK(doc.at("code") == "bad_peer");
        CHECK(doc.at("error") == "no such \"peer\"\n");
    }
}
