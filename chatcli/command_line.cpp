#include "command_line.hpp"

#include <CLI/CLI.hpp>
#include <sstream>

namespace chat::cli {

ParseOutcome parse_command_line(const std::vector<std::string>& args) {
    CLI::App app{
        "chatcli: talk to chatd, the LAN chat daemon.\n"
        "PEER is HOST:PORT, [IPv6]:PORT, HOST (port 7890) or an alias from chatd's config.\n"
        "Exit codes: 0 ok, 1 failed (e.g. not acknowledged in time), 2 usage error,\n"
        "3 chatd not reachable."};
    app.set_version_flag("--version", std::string("chatcli ") + CHAT_VERSION);
    app.require_subcommand(1);

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
    send_cmd
        ->add_option("--timeout", send.timeout_seconds, "seconds to wait for the ack (default 10)")
        ->check(CLI::Range(0.001, 86400.0));
    send_cmd->add_option("PEER", send.peer, "who to send to")->required();
    send_cmd->add_option("TEXT", words, "the message, or - for stdin")->required();

    InboxRequest inbox;
    auto* inbox_cmd = app.add_subcommand("inbox", "Show received messages, oldest first.");
    inbox_cmd->add_flag("-f,--follow", inbox.follow,
                        "keep running and print new messages as they arrive");
    inbox_cmd->add_option("-n,--limit", inbox.limit, "show at most the newest N (default 100)")
        ->check(CLI::Range(0, 1'000'000));

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
    history_cmd->add_option("-n,--limit", history.limit, "show at most the newest N (default 100)")
        ->check(CLI::Range(0, 1'000'000));

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
        std::ostringstream out, err;
        const int rc = app.exit(e, out, err);
        return {std::nullopt, rc == 0 ? kExitOk : kExitUsage, out.str() + err.str()};
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
            return {std::nullopt, kExitUsage,
                    "chatcli: ID must be a transfer's number or at least 6 hex digits of its id\n"};
    } else {
        inv.command = accept_cmd->parsed() ? "accept" : reject_cmd->parsed() ? "reject" : "cancel";
        decide.action = inv.command;
        if (!read_transfer_ref(decide_ref, decide.id, decide.id_prefix))
            return {std::nullopt, kExitUsage,
                    "chatcli: ID must be a transfer's number or at least 6 hex digits of its id\n"};
        inv.request = decide;
    }
    return {inv, kExitOk, ""};
}

}  // namespace chat::cli
