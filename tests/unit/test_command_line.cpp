// chatcli's argv parsing: the request each command line becomes, and the
// exit code of a usage error.
#include <doctest/doctest.h>

#include "command_line.hpp"

using namespace chat;
using namespace chat::cli;

namespace {
ParseOutcome parse(std::vector<std::string> args) { return parse_command_line(args); }
// The request a parsed command sends.
Request request(const ParseOutcome& out) { return request_of(out.invocation->command); }
template <typename T>
constexpr std::size_t variant_index() {
    return Command(T{}).index();
}
const SendCommand& send_of(const ParseOutcome& out) {
    return std::get<SendCommand>(out.invocation->command);
}
}  // namespace

TEST_SUITE("command_line") {
    TEST_CASE("send") {
        auto out = parse({"send", "bob", "hello", "world"});
        REQUIRE(out.invocation);
        CHECK(std::holds_alternative<SendCommand>(out.invocation->command));
        CHECK(std::get<SendRequest>(request(out)) ==
              SendRequest{"bob", "hello world", false, true, 10, {}});

        out = parse({"--json", "--socket", "/s", "send", "--plain", "--no-wait", "--timeout", "2.5",
                     "[::1]:7", "x"});
        REQUIRE(out.invocation);
        CHECK(out.invocation->json);
        CHECK(out.invocation->socket == "/s");
        CHECK(std::get<SendRequest>(request(out)) ==
              SendRequest{"[::1]:7", "x", true, false, 2.5, {}});

        out = parse({"send", "bob", "-"});
        REQUIRE(out.invocation);
        CHECK(send_of(out).text_from_stdin);
        CHECK_FALSE(send_of(out).lines);

        out = parse({"send", "--lines", "bob", "-"});
        REQUIRE(out.invocation);
        CHECK(send_of(out).text_from_stdin);
        CHECK(send_of(out).lines);
    }

    TEST_CASE("the other commands") {
        CHECK(std::get<InboxRequest>(request(parse({"inbox", "--follow", "--limit", "5"}))) ==
              InboxRequest{5, true, ""});
        CHECK(std::get<InboxRequest>(request(parse({"chat", "bob"}))) ==
              InboxRequest{0, true, "bob"});
        CHECK(std::holds_alternative<ChatCommand>(parse({"chat", "bob"}).invocation->command));
        CHECK(std::get<HistoryRequest>(request(parse({"history", "bob"}))) ==
              HistoryRequest{"bob", 100});
        CHECK(std::get<HistoryRequest>(request(parse({"history"}))) == HistoryRequest{"", 100});
        CHECK(std::holds_alternative<StatusRequest>(request(parse({"status"}))));
        CHECK(std::holds_alternative<PeersRequest>(request(parse({"peers"}))));
        CHECK(std::holds_alternative<IdRequest>(request(parse({"id"}))));
        CHECK(std::get<VerifyRequest>(request(parse({"verify", "bob"}))) ==
              VerifyRequest{"bob", false, ""});
        CHECK(std::get<VerifyRequest>(request(parse({"verify", "--yes", "bob"}))) ==
              VerifyRequest{"bob", true, ""});
        CHECK(std::get<VerifyRequest>(request(parse({"verify", "bob", "-y"}))).confirm);
        CHECK(std::get<TrustRequest>(request(parse({"trust", "bob", "P56IOI7-MZJNU2Y"}))) ==
              TrustRequest{"bob", "P56IOI7-MZJNU2Y"});
        CHECK(parse({"trust", "bob"}).exit_code == kExitUsage);
    }

    TEST_CASE("a transfer is named by our number or the start of the id both sides share") {
        const auto decide = [](std::vector<std::string> args) {
            return std::get<DecideRequest>(request(parse(std::move(args))));
        };
        CHECK(decide({"accept", "3"}) == DecideRequest{DecideAction::accept, 3, "", ""});
        CHECK(decide({"cancel", "A1B2C3d4"}) ==
              DecideRequest{DecideAction::cancel, 0, "", "a1b2c3d4"});
        CHECK(decide({"reject", "123456"}) ==
              DecideRequest{DecideAction::reject, 123456, "", "123456"});
        CHECK(std::get<TransfersCommand>(parse({"transfers", "a1b2c3"}).invocation->command).only ==
              "a1b2c3");
        CHECK(parse({"transfers", "abc"}).exit_code == kExitUsage);
        for (const char* bad : {"abc", "a1b2c", "0", "xyz123", "-3"}) {
            CAPTURE(bad);
            const auto out = parse({"accept", bad});
            CHECK_FALSE(out.invocation);
            CHECK(out.exit_code == kExitUsage);
            CHECK(out.output ==
                  "chatcli: accept: ID must be a transfer's number or at least 6 hex "
                  "digits of its id (got \"" +
                      std::string(bad) + "\")\n");
        }
    }

    TEST_CASE("usage errors exit 2 and say what is wrong") {
        struct Case {
            std::vector<std::string> args;
            std::string says;
        };
        const Case cases[] = {
            {{}, "a command is required"},
            {{"dance"}, "dance"},
            {{"send", "bob"}, "TEXT is required"},
            {{"send"}, "PEER is required"},
            {{"send", "--timeout", "0", "bob", "x"}, "--timeout"},
            {{"send", "--lines", "bob", "x"},
             "--lines reads the messages from stdin: give - as TEXT"},
            {{"inbox", "--limit", "x"}, "--limit"},
            {{"chat"}, "PEER is required"},
            {{"status", "extra"}, "extra"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.args.size());
            const auto out = parse(c.args);
            CHECK_FALSE(out.invocation);
            CHECK(out.exit_code == kExitUsage);
            CHECK(out.output.find(c.says) != std::string::npos);
        }
    }

    TEST_CASE("global options also come after the command") {
        auto out = parse({"inbox", "--json"});
        REQUIRE(out.invocation);
        CHECK(out.invocation->json);
        out = parse({"send", "bob", "--socket", "/s", "--json", "hi"});
        REQUIRE(out.invocation);
        CHECK(out.invocation->json);
        CHECK(out.invocation->socket == "/s");
        CHECK(std::get<SendRequest>(request(out)).text == "hi");
        out = parse({"accept", "7", "--to", "d", "--json"});
        REQUIRE(out.invocation);
        CHECK(out.invocation->json);
        CHECK(std::get<DecideRequest>(request(out)).id == 7);
    }

    TEST_CASE("usage errors are plain sentences of our own") {
        struct Case {
            std::vector<std::string> args;
            std::string output;
        };
        const Case cases[] = {
            {{"accept", "abc"},
             "chatcli: accept: ID must be a transfer's number or at least 6 hex digits of its id "
             "(got \"abc\")\n"},
            {{"cancel", "0"},
             "chatcli: cancel: ID must be a transfer's number or at least 6 hex digits of its id "
             "(got \"0\")\n"},
            {{"inbox", "--limit", "5000000"},
             "chatcli: --limit must be between 0 and 1000000 (got 5000000)\n"},
            {{"history", "-n", "x"}, "chatcli: --limit must be a number (got \"x\")\n"},
            {{"send", "--timeout", "0", "bob", "x"},
             "chatcli: --timeout must be between 0.001 and 86400 seconds (got 0)\n"},
            {{"send", "--timeout", "soon", "bob", "x"},
             "chatcli: --timeout must be a number of seconds (got \"soon\")\n"},
            {{"status", "extra"},
             "chatcli status: unexpected argument extra (see chatcli status --help)\n"},
            {{"send", "bob"}, "chatcli send: TEXT is required (see chatcli send --help)\n"},
            {{"inbox", "--limit"},
             "chatcli inbox: --limit needs a value (see chatcli inbox --help)\n"},
            {{}, "chatcli: a command is required (see chatcli --help)\n"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.output);
            const auto out = parse(c.args);
            CHECK_FALSE(out.invocation);
            CHECK(out.exit_code == kExitUsage);
            CHECK(out.output == c.output);
        }
    }

    TEST_CASE("--help names the program") {
        CHECK(parse({"--help"}).output.find("Usage: chatcli [OPTIONS] SUBCOMMAND") !=
              std::string::npos);
    }

    TEST_CASE("--help exits 0 and documents the size limit and exit codes") {
        const auto top = parse({"--help"});
        CHECK(top.exit_code == kExitOk);
        CHECK(top.output.find("3 chatd not reachable") != std::string::npos);
        const auto send = parse({"send", "--help"});
        CHECK(send.exit_code == kExitOk);
        CHECK(send.output.find("max_datagram_bytes (default 65507)") != std::string::npos);
    }

    TEST_CASE("each command parses into its own struct of the variant") {
        struct Row {
            std::vector<std::string> args;
            std::size_t index;  // in Command
        };
        const Row rows[] = {
            {{"send", "bob", "x"}, variant_index<SendCommand>()},
            {{"inbox"}, variant_index<InboxCommand>()},
            {{"chat", "bob"}, variant_index<ChatCommand>()},
            {{"history"}, variant_index<HistoryCommand>()},
            {{"transfer", "bob", "f"}, variant_index<TransferCommand>()},
            {{"transfers"}, variant_index<TransfersCommand>()},
            {{"accept", "3"}, variant_index<AcceptCommand>()},
            {{"reject", "3"}, variant_index<RejectCommand>()},
            {{"cancel", "3"}, variant_index<CancelCommand>()},
            {{"status"}, variant_index<StatusCommand>()},
            {{"peers"}, variant_index<PeersCommand>()},
            {{"verify", "bob"}, variant_index<VerifyCommand>()},
            {{"trust", "bob", "F"}, variant_index<TrustCommand>()},
        };
        for (const auto& row : rows) {
            CAPTURE(row.args.front());
            const auto out = parse(row.args);
            REQUIRE(out.invocation);
            CHECK(out.invocation->command.index() == row.index);
        }
        const auto transfer = std::get<TransferCommand>(
            parse({"transfer", "--no-wait", "bob", "a", "b"}).invocation->command);
        CHECK(transfer.paths == std::vector<std::string>{"a", "b"});
        CHECK(transfer.request.peer == "bob");
        CHECK_FALSE(transfer.request.wait);
        const auto listed =
            std::get<TransfersCommand>(parse({"transfers", "A1B2C3"}).invocation->command);
        CHECK(listed.only_prefix == "a1b2c3");
        CHECK(listed.only_number == 0);
        CHECK(std::get<TransfersCommand>(parse({"transfers", "12"}).invocation->command)
                  .only_number == 12);
        CHECK(std::get<TransfersCommand>(parse({"transfers", "-w"}).invocation->command)
                  .request.watch);
        CHECK(std::get<DecideRequest>(request(parse({"reject", "4"}))).action ==
              DecideAction::reject);
    }

    TEST_CASE("an unknown command is told with the list of known ones") {
        const auto out = parse({"dance"});
        CHECK(out.exit_code == kExitUsage);
        CHECK(out.output ==
              "unknown command 'dance' (commands: send, inbox, chat, history, transfer, "
              "transfers, accept, reject, cancel, status, peers, id, verify, trust; see --help)\n");
    }

    TEST_CASE("a refusal's code picks the exit code") {
        struct Row {
            const char* code;
            int exit_code;
        };
        const Row rows[] = {
            {"bad_request", kExitUsage}, {"bad_peer", kExitUsage}, {"too_large", kExitUsage},
            {"timeout", kExitFailed},    {"failed", kExitFailed},  {"key_changed", kExitFailed},
            {"", kExitFailed},
        };
        for (const auto& row : rows) {
            CAPTURE(row.code);
            CHECK(exit_code_for_refusal(row.code) == row.exit_code);
        }
    }
}
