#include "command_line.hpp"

#include <CLI/CLI.hpp>
#include <charconv>
#include <limits>
#include <sstream>

namespace chat::cli {
namespace {

// Numbers are taken as text and read here, so a bad one is told in our own
// words rather than CLI11's ("Could not convert: ID = abc").
struct UsageError {
    std::string text;
};

std::int64_t whole_number(const std::string& text, const std::string& what, std::int64_t min,
                          std::int64_t max) {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc::result_out_of_range ||
        (ec == std::errc{} && end == text.data() + text.size() && (value < min || value > max))) {
        const std::string range =
            max == std::numeric_limits<std::int64_t>::max()
                ? " must be " + std::to_string(min) + " or more"
                : " must be between " + std::to_string(min) + " and " + std::to_string(max);
        throw UsageError{what + range + " (got " + text + ")"};
    }
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) {
        throw UsageError{what + " must be a number (got \"" + text + "\")"};
    }
    return value;
}

double seconds_number(const std::string& text, const std::string& what, double min, double max) {
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) {
        throw UsageError{what + " must be a number of seconds (got \"" + text + "\")"};
    }
    if (!(value >= min && value <= max)) {
        std::ostringstream range;
        range << what << " must be between " << min << " and " << max << " seconds (got " << text
              << ")";
        throw UsageError{range.str()};
    }
    return value;
}

// CLI11's error as a plain sentence, naming the command it is about.
std::string usage_sentence(const CLI::ParseError& e, const CLI::App& app) {
    const auto parsed = app.get_subcommands();
    const std::string command = parsed.empty() ? "" : parsed.front()->get_name();
    const std::string prefix = command.empty() ? "chatcli: " : "chatcli " + command + ": ";
    const std::string help = command.empty() ? "chatcli --help" : "chatcli " + command + " --help";
    std::string what = e.what();
    if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
        const auto colon = what.find(": ");
        what = "unexpected argument" +
               std::string(what.find("arguments were") != std::string::npos ? "s " : " ") +
               (colon == std::string::npos ? what : what.substr(colon + 2));
    } else if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr) {
        const auto colon = what.find(':');
        what = (colon == std::string::npos ? what : what.substr(0, colon)) + " needs a value";
    } else if (what == "A subcommand is required") {
        what = "a command is required";
    }
    return prefix + what + " (see " + help + ")\n";
}

}  // namespace

ParseOutcome parse_command_line(const std::vector<std::string>& args) {
    CLI::App app{
        "chatcli: talk to chatd, the LAN chat daemon.\n"
        "PEER is HOST:PORT, [IPv6]:PORT, HOST (port 7890) or an alias from chatd's config.\n"
        "Exit codes: 0 ok, 1 failed (e.g. not acknowledged in time), 2 usage error,\n"
        "3 chatd not reachable.",
        "chatcli"};
    app.set_version_flag("--version", std::string("chatcli ") + CHAT_VERSION);
    app.require_subcommand(1);
    // Subcommands (made below, inheriting this) hand options they do not
    // know to the app: `chatcli inbox --json` works as `chatcli --json inbox`.
    app.fallthrough();

    Invocation inv;
    app.add_option("--socket", inv.socket,
                   "chatd's control socket (default: $CHATD_SOCKET, $XDG_RUNTIME_DIR/chatd.sock,\n"
                   "/tmp/chatd-$UID/chatd.sock, then /run/chatd/chatd.sock)");
    app.add_flag("--json", inv.json, "machine-readable output: one JSON object per line");

    SendRequest send;
    std::vector<std::string> words;
    bool no_wait = false;
    auto* send_cmd = app.add_subcommand(
        "send",
        "Send a message and wait for the peer's acknowledgement.\n"
        "TEXT is one or more words (joined by spaces), or - to read it from stdin. It must\n"
        "fit in one UDP datagram: at most chatd's max_datagram_bytes (default 65507) bytes\n"
        "once encoded; longer text is refused and nothing is sent. Without an ack within\n"
        "--timeout the command fails (exit 1) and the message stays in chatd's outbox,\n"
        "retried until it expires (outbox_ttl_seconds, default 24 h).");
    send_cmd->add_flag("--plain", send.plain,
                       "send raw UTF-8 text, as nc -u does (no ack, no retry)");
    send_cmd->add_flag("--no-wait", no_wait, "return once queued, without waiting for the ack");
    send_cmd->add_flag("--lines", inv.lines,
                       "with TEXT -, send each line of stdin as its own message, in order,\n"
                       "many to a request (empty lines are skipped)");
    std::string timeout;
    send_cmd->add_option("--timeout", timeout, "seconds to wait for the ack (default 10)");
    send_cmd->add_option("PEER", send.peer, "who to send to")->required();
    send_cmd->add_option("TEXT", words, "the message, or - for stdin")->required();

    InboxRequest inbox;
    auto* inbox_cmd = app.add_subcommand("inbox", "Show received messages, oldest first.");
    inbox_cmd->add_flag("-f,--follow", inbox.follow,
                        "keep running and print new messages as they arrive");
    std::string limit;
    inbox_cmd->add_option("-n,--limit", limit, "show at most the newest N (default 100)");

    std::string chat_peer;
    auto* chat_cmd = app.add_subcommand(
        "chat",
        "Interactive chat with one peer: each line typed is sent, their messages appear as\n"
        "they arrive, and delivery is marked when acked. Ctrl-D or /quit leaves. With stdin\n"
        "not a terminal, sends each line in order and exits at the end of input (exit 1 if\n"
        "any line was not acknowledged).");
    chat_cmd->add_option("PEER", chat_peer, "who to chat with")->required();

    HistoryRequest history;
    auto* history_cmd =
        app.add_subcommand("history", "Messages in both directions, with delivery state.");
    history_cmd->add_option("PEER", history.peer, "only this peer");
    history_cmd->add_option("-n,--limit", limit, "show at most the newest N (default 100)");

    TransferRequest transfer;
    bool transfer_no_wait = false;
    auto* transfer_cmd = app.add_subcommand(
        "transfer",
        "Send files and folders. Shows progress until the receiver has verified every\n"
        "file (exit 0), or says why not (exit 1). The peer accepts with `chatcli accept`\n"
        "unless its policy accepts for it. Files are read as you: chatd gets only what\n"
        "you can read. Special files and links pointing outside what is sent are skipped\n"
        "with a notice.");
    transfer_cmd->add_flag("--no-wait", transfer_no_wait,
                           "return once offered; follow it with `chatcli transfers`");
    transfer_cmd->add_option("PEER", transfer.peer, "who to send to")->required();
    transfer_cmd->add_option("PATH", inv.paths, "files and folders")->required();

    auto* transfers_cmd =
        app.add_subcommand("transfers", "Every transfer, in and out, with state and progress.");
    transfers_cmd->add_flag("-w,--watch", inv.watch, "redraw live until interrupted");
    transfers_cmd->add_option("ID", inv.only,
                              "only this one: its number, or 6+ hex digits of its id");

    DecideRequest decide;
    std::string decide_ref;  // our number or the start of the shared id
    auto* accept_cmd = app.add_subcommand("accept", "Accept an offered transfer.");
    accept_cmd->add_option("ID", decide_ref, "the transfer's number, or 6+ hex digits of its id")
        ->required();
    accept_cmd->add_option("--to", decide.to,
                           "directory to receive into (default: transfer.download_dir)");
    auto* reject_cmd = app.add_subcommand("reject", "Reject an offered transfer.");
    reject_cmd->add_option("ID", decide_ref, "the transfer's number, or 6+ hex digits of its id")
        ->required();
    auto* cancel_cmd = app.add_subcommand("cancel", "Cancel a transfer, in or out.");
    cancel_cmd->add_option("ID", decide_ref, "the transfer's number, or 6+ hex digits of its id")
        ->required();

    auto* status_cmd = app.add_subcommand("status", "Version, addresses, uptime and counters.");
    auto* peers_cmd =
        app.add_subcommand("peers", "Aliases and the peers seen, with last-seen time.");

    std::vector<std::string> reversed(args.rbegin(), args.rend());
    try {
        app.parse(reversed);
    } catch (const CLI::ParseError& e) {
        if (app.get_subcommands().empty() && !app.remaining().empty() && e.get_exit_code() != 0) {
            return {std::nullopt, kExitUsage,
                    "unknown command '" + app.remaining().front() +
                        "' (commands: send, inbox, chat, history, transfer, transfers, accept, "
                        "reject, cancel, status, peers; see --help)\n"};
        }
        if (e.get_exit_code() != 0) return {std::nullopt, kExitUsage, usage_sentence(e, app)};
        std::ostringstream out, err;  // --help, --version
        app.exit(e, out, err);
        return {std::nullopt, kExitOk, out.str() + err.str()};
    }
    // The command's name goes before what is wrong with its number.
    const auto named = [&](const std::string& what) {
        return app.get_subcommands().front()->get_name() + ": " + what;
    };
    const auto bad_transfer_ref = [&](const std::string& ref) {
        return "chatcli: " +
               named("ID must be a transfer's number or at least 6 hex digits of its id (got \"" +
                     ref + "\")\n");
    };
    try {
        if (!timeout.empty())
            send.timeout_seconds = seconds_number(timeout, "--timeout", 0.001, 86400);
        if (!limit.empty())
            inbox.limit = history.limit =
                static_cast<std::size_t>(whole_number(limit, "--limit", 0, 1'000'000));
    } catch (const UsageError& e) {
        return {std::nullopt, kExitUsage, "chatcli: " + e.text + "\n"};
    }

    if (send_cmd->parsed()) {
        inv.command = "send";
        send.wait = !no_wait;
        if (words.size() == 1 && words[0] == "-") {
            inv.text_from_stdin = true;
        } else if (inv.lines) {
            return {std::nullopt, kExitUsage,
                    "chatcli: --lines reads the messages from stdin: give - as TEXT\n"};
        } else {
            for (std::size_t i = 0; i < words.size(); ++i) send.text += (i ? " " : "") + words[i];
        }
        inv.request = send;
    } else if (inbox_cmd->parsed()) {
        inv.command = "inbox";
        inv.request = inbox;
    } else if (chat_cmd->parsed()) {
        inv.command = "chat";
        inv.request = InboxRequest{0, true, chat_peer};
    } else if (history_cmd->parsed()) {
        inv.command = "history";
        inv.request = history;
    } else if (status_cmd->parsed()) {
        inv.command = "status";
        inv.request = StatusRequest{};
    } else if (peers_cmd->parsed()) {
        inv.command = "peers";
        inv.request = PeersRequest{};
    } else if (transfer_cmd->parsed()) {
        inv.command = "transfer";
        transfer.wait = !transfer_no_wait;
        inv.request = transfer;
    } else if (transfers_cmd->parsed()) {
        inv.command = "transfers";
        inv.request = TransfersRequest{inv.watch};
        std::uint64_t number = 0;
        std::string prefix;
        if (!inv.only.empty() && !read_transfer_ref(inv.only, number, prefix))
            return {std::nullopt, kExitUsage, bad_transfer_ref(inv.only)};
    } else {
        inv.command = accept_cmd->parsed() ? "accept" : reject_cmd->parsed() ? "reject" : "cancel";
        decide.action = inv.command;
        if (!read_transfer_ref(decide_ref, decide.id, decide.id_prefix))
            return {std::nullopt, kExitUsage, bad_transfer_ref(decide_ref)};
        inv.request = decide;
    }
    return {inv, kExitOk, ""};
}

}  // namespace chat::cli
