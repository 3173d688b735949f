// The exact words chatcli prints for chatd's final replies, a transfer's
// events and its own errors (all made in render, none in main).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "render.hpp"

using namespace chat::cli;
using nlohmann::json;

TEST_SUITE("render_replies") {
    TEST_CASE("send's final reply: queued for, delivered to, sent as plain") {
        struct Row {
            const char* reply;
            const char* shown;
        };
        const Row rows[] = {
            {R"({"ok":true,"state":"delivered","to":"p:1"})", "delivered to p:1\n"},
            {R"({"ok":true,"state":"queued","to":"p:1","id":"ab12"})",
             "queued for p:1 (id ab12)\n"},
            {R"({"ok":true,"state":"sent","to":"p:1"})",
             "sent to p:1 as plain text (plain peers do not acknowledge)\n"},
            {R"({"ok":true,"state":"queued","to":"p:1","ids":["a","b"]})",
             "queued 2 messages for p:1\n"},
            {R"({"ok":true,"state":"delivered","to":"p:1","ids":["a"]})",
             "delivered 1 message to p:1\n"},
            {R"({"ok":true,"state":"expired","to":"p:1"})", ""},
            {R"({"ok":true})", ""},
        };
        for (const auto& row : rows) {
            CAPTURE(row.reply);
            CHECK(render_sent(json::parse(row.reply)) == row.shown);
        }
    }

    TEST_CASE("accept, reject and cancel say what became of the transfer") {
        CHECK(render_accepted(json::parse(R"({"ok":true,"id":3,"to":"/home/a/in"})")) ==
              "accepted transfer #3 into /home/a/in\n");
        CHECK(render_decided(json::parse(R"({"ok":true,"id":3,"state":"rejected"})")) ==
              "rejected transfer #3\n");
        CHECK(render_decided(json::parse(R"({"ok":true,"id":12,"state":"cancelled"})")) ==
              "cancelled transfer #12\n");
    }

    TEST_CASE("a transfer's events are told apart by name, unknown ones as other") {
        struct Row {
            const char* event;
            TransferEvent kind;
        };
        const Row rows[] = {
            {R"({"event":"offered"})", TransferEvent::offered},
            {R"({"event":"unanswered"})", TransferEvent::unanswered},
            {R"({"event":"waiting"})", TransferEvent::waiting},
            {R"({"event":"accepted"})", TransferEvent::accepted},
            {R"({"event":"progress"})", TransferEvent::progress},
            {R"({"event":"file"})", TransferEvent::file},
            {R"({"event":"done"})", TransferEvent::done},
            {R"({"event":"later"})", TransferEvent::other},
            {R"({"ok":true})", TransferEvent::other},
        };
        for (const auto& row : rows) {
            CAPTURE(row.event);
            CHECK(transfer_event_kind(json::parse(row.event)) == row.kind);
        }
    }

    TEST_CASE("the lines a transfer's events print") {
        struct Row {
            const char* event;
            const char* shown;
        };
        const Row rows[] = {
            {R"({"event":"offered","id":2,"transfer_id":"a1b2c3d4e5f6","to":"p:1","files":2,
                 "bytes":5})",
             "offered transfer #2 (a1b2c3d4) to p:1: 2 files, 5 B"},
            {R"({"event":"offered","id":2,"transfer_id":"a1b2c3d4e5f6","to":"p:1","files":1,
                 "bytes":5,"resumed":true})",
             "resuming transfer #2 (a1b2c3d4) to p:1: 1 file, 5 B"},
            {R"({"event":"waiting"})", "waiting for the peer to accept"},
            {R"({"event":"accepted"})", "accepted; sending"},
            {R"({"event":"progress","bytes":1,"total_bytes":2})", ""},
            {R"({"event":"file","name":"x"})", ""},
            {R"({"event":"unanswered","peer":"p:1"})", ""},
            {R"({"ok":true})", ""},
        };
        for (const auto& row : rows) {
            CAPTURE(row.event);
            CHECK(render_transfer_event(json::parse(row.event)) == row.shown);
        }
        const auto done = json::parse(
            R"({"event":"done","files":1,"bytes":5,"data_seconds":1.0,"sent_bytes":5})");
        CHECK(render_transfer_event(done) == render_done(done));
        CHECK(render_transfer_event(done) ==
              "done: 1 file, 5 B, 1.00 s, 5 B/s, verified by the receiver");
    }

    TEST_CASE("an unanswered offer: once as a line, or with its time on the status line") {
        const auto event = json::parse(R"({"event":"unanswered","peer":"p:1","seconds":65})");
        CHECK(render_unanswered(event, false) ==
              "waiting for p:1 to answer (no answer yet; retrying)");
        CHECK(render_unanswered(event, true) ==
              "waiting for p:1 to answer (no answer yet; retrying) 1m 5s");
    }

    TEST_CASE("transfer --no-wait points at `chatcli transfers` once offered") {
        CHECK(render_transfer_reply(json::parse(R"({"ok":true,"state":"offered"})")) ==
              "follow it with: chatcli transfers");
        CHECK(render_transfer_reply(json::parse(R"({"ok":true,"state":"done"})")).empty());
        CHECK(render_transfer_reply(json::parse(R"({"ok":true})")).empty());
    }

    TEST_CASE("chatd's refusals and chatcli's own errors") {
        CHECK(render_error(json::parse(R"({"ok":false,"error":"no such peer"})")) ==
              "chatcli: no such peer");
        CHECK(render_error(json::parse(R"({"ok":false,"error":"bad\u001b[2J"})")) ==
              "chatcli: bad^[[2J");
        CHECK(render_error(json::parse(R"({"ok":false})")) == "chatcli: request failed");
        CHECK(render_error(json::parse(R"({"ok":false})"), "error") == "chatcli: error");
        // An empty or mistyped error is no error text: the fallback says something.
        CHECK(render_error(json::parse(R"({"ok":false,"error":""})")) == "chatcli: request failed");
        CHECK(render_error(json::parse(R"({"ok":false,"error":7})")) == "chatcli: request failed");
        CHECK(render_notice("skipped a\x07") == "chatcli: skipped a^G");
        CHECK(render_failure("chatd is not reachable; tried: /s") ==
              "chatcli: chatd is not reachable; tried: /s");

        struct Row {
            Said what;
            const char* shown;
        };
        const Row rows[] = {
            {Said::unexpected_reply, "chatcli: unexpected reply from chatd"},
            {Said::connection_closed, "chatcli: chatd closed the connection"},
            {Said::closed_unanswered, "chatcli: chatd closed the connection without an answer"},
            {Said::nothing_to_send, "chatcli: nothing to send: every path was skipped (see above)"},
            {Said::stopped_answering,
             "chatcli: chatd stopped answering; when it is back, run the same `chatcli transfer` "
             "again to resume"},
            {Said::empty_message, "chatcli: empty message; nothing was sent"},
            {Said::text_not_utf8, "chatcli: the text is not valid UTF-8; nothing was sent"},
        };
        for (const auto& row : rows) {
            CAPTURE(row.shown);
            CHECK(render_said(row.what) == row.shown);
        }
        CHECK(render_no_transfer("a1b2c3\x1b") == "chatcli: no transfer a1b2c3^[");
        CHECK(render_cannot_pass_files("Broken pipe") ==
              "chatcli: cannot pass the files to chatd: Broken pipe");
        CHECK(render_too_large(70000) ==
              "chatcli: the message is 70000 bytes, more than fits in one datagram; nothing was "
              "sent");
        CHECK(render_stopped_at_lines(1001, 2000) ==
              "chatcli: stopped at lines 1001-2000; the lines before them were sent");
        CHECK(render_line_not_utf8(7) ==
              "chatcli: line 7 is not valid UTF-8; it and the lines after it were not sent");
    }

    TEST_CASE("chat's lines") {
        CHECK(render_chat_banner("bob") == "chatting with bob; Ctrl-D or /quit leaves");
        CHECK(render_chat_typed(0, "hi\x1b") == "[" + local_time(0) + "] you: hi^[");
        CHECK(render_chat_delivered("hi") == "  delivered: hi");
        CHECK(render_chat_not_delivered("hi", json::parse(R"({"ok":false,"error":"timeout"})")) ==
              "  NOT delivered yet: hi (timeout)");
        CHECK(render_chat_not_delivered("hi", json::parse(R"({"ok":false})")) ==
              "  NOT delivered yet: hi (no reply)");
        CHECK(render_chat_not_delivered("hi", json()) ==
              "  NOT delivered yet: hi (chatd closed the connection)");
        CHECK(render_chat_unacknowledged(2) ==
              "2 message(s) not acknowledged yet; they stay in chatd's outbox");
    }
}
