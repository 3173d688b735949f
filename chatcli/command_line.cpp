#include "command_line.hpp"

#include <CLI/CLI.hpp>
#include <charconv>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>
#include <type_traits>

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

// One subcommand: registered with its options, then, once parsed, made
// into its Command. `finish` throws UsageError for values CLI11 let through.
// The options are read into state the `finish` closure owns, so it lives as
// long as the app that writes into it.
struct Entry {
    CLI::App* command;
    std::function<Command()> finish;
};

// `accept 3`: the name the error is told under, and the ID given.
void read_ref_into(const std::string& command, const std::string& ref, std::uint64_t& number,
                   std::string& prefix) {
    if (!read_transfer_ref(ref, number, prefix)) {
        throw UsageError{command +
                         ": ID must be a transfer's number or at least 6 hex digits of its id "
                         "(got \"" +
                         ref + "\")"};
    }
}

Entry add_send(CLI::App& app) {
    struct Options {
        SendCommand command;
        std::vector<std::string> words;
        bool no_wait = false;
        std::string timeout;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = app.add_subcommand(
        "send",
        "Send a message and wait for the peer's acknowledgement.\n"
        "TEXT is one or more words (joined by spaces), or - to read it from stdin. It must\n"
        "fit in one UDP datagram: at most chatd's max_datagram_bytes (default 65507) bytes\n"
        "once encoded; longer text is refused and nothing is sent. Without an ack within\n"
        "--timeout the command fails (exit 1) and the message stays in chatd's outbox,\n"
        "retried until it expires (outbox_ttl_seconds, default 24 h).");
    auto& send = o->command.request;
    cmd->add_flag("--plain", send.plain, "send raw UTF-8 text, as nc -u does (no ack, no retry)");
    cmd->add_flag("--no-wait", o->no_wait, "return once queued, without waiting for the ack");
    cmd->add_flag("--lines", o->command.lines,
                  "with TEXT -, send each line of stdin as its own message, in order,\n"
                  "many to a request (empty lines are skipped)");
    cmd->add_option("--timeout", o->timeout, "seconds to wait for the ack (default 10)");
    cmd->add_option("PEER", send.peer, "who to send to")->required();
    cmd->add_option("TEXT", o->words, "the message, or - for stdin")->required();
    return {cmd, [o]() -> Command {
                SendCommand out = o->command;
                if (!o->timeout.empty())
                    out.request.timeout_seconds =
                        seconds_number(o->timeout, "--timeout", 0.001, 86400);
                out.request.wait = !o->no_wait;
                if (o->words.size() == 1 && o->words[0] == "-") {
                    out.text_from_stdin = true;
                } else if (out.lines) {
                    throw UsageError{"--lines reads the messages from stdin: give - as TEXT"};
                } else {
                    for (std::size_t i = 0; i < o->words.size(); ++i)
                        out.request.text += (i ? " " : "") + o->words[i];
                }
                return out;
            }};
}

// inbox and history end with -n/--limit, a number read in our own words.
template <typename Listing>
Entry with_limit(CLI::App* cmd, std::shared_ptr<Listing> command) {
    auto limit = std::make_shared<std::string>();
    cmd->add_option("-n,--limit", *limit, "show at most the newest N (default 100)");
    return {cmd, [command, limit]() -> Command {
                Listing out = *command;
                if (!limit->empty())
                    out.request.limit =
                        static_cast<std::size_t>(whole_number(*limit, "--limit", 0, 1'000'000));
                return out;
            }};
}

Entry add_inbox(CLI::App& app) {
    auto command = std::make_shared<InboxCommand>();
    auto* cmd = app.add_subcommand("inbox", "Show received messages, oldest first.");
    cmd->add_flag("-f,--follow", command->request.follow,
                  "keep running and print new messages as they arrive");
    return with_limit(cmd, command);
}

Entry add_chat(CLI::App& app) {
    auto peer = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand(
        "chat",
        "Interactive chat with one peer: each line typed is sent, their messages appear as\n"
        "they arrive, and delivery is marked when acked. Ctrl-D or /quit leaves. With stdin\n"
        "not a terminal, sends each line in order and exits at the end of input (exit 1 if\n"
        "any line was not acknowledged).");
    cmd->add_option("PEER", *peer, "who to chat with")->required();
    return {cmd, [peer]() -> Command { return ChatCommand{InboxRequest{0, true, *peer}}; }};
}

Entry add_history(CLI::App& app) {
    auto command = std::make_shared<HistoryCommand>();
    auto* cmd = app.add_subcommand("history", "Messages in both directions, with delivery state.");
    cmd->add_option("PEER", command->request.peer, "only this peer");
    return with_limit(cmd, command);
}

Entry add_transfer(CLI::App& app) {
    struct Options {
        TransferCommand command;
        bool no_wait = false;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = app.add_subcommand(
        "transfer",
        "Send files and folders. Shows progress until the receiver has verified every\n"
        "file (exit 0), or says why not (exit 1). The peer accepts with `chatcli accept`\n"
        "unless its policy accepts for it. Files are read as you: chatd gets only what\n"
        "you can read. Special files and links pointing outside what is sent are skipped\n"
        "with a notice.");
    cmd->add_flag("--no-wait", o->no_wait,
                  "return once offered; follow it with `chatcli transfers`");
    cmd->add_option("PEER", o->command.request.peer, "who to send to")->required();
    cmd->add_option("PATH", o->command.paths, "files and folders")->required();
    return {cmd, [o]() -> Command {
                TransferCommand out = o->command;
                out.request.wait = !o->no_wait;
                return out;
            }};
}

Entry add_transfers(CLI::App& app) {
    auto o = std::make_shared<TransfersCommand>();
    auto* cmd =
        app.add_subcommand("transfers", "Every transfer, in and out, with state and progress.");
    cmd->add_flag("-w,--watch", o->request.watch, "redraw live until interrupted");
    cmd->add_option("ID", o->only, "only this one: its number, or 6+ hex digits of its id");
    return {cmd, [o]() -> Command {
                TransfersCommand out = *o;
                if (!out.only.empty())
                    read_ref_into("transfers", out.only, out.only_number, out.only_prefix);
                return out;
            }};
}

// accept, reject, cancel: the same ID; accept also takes --to.
template <typename DecideCommand>
Entry add_decide(CLI::App& app, DecideAction action, const std::string& description) {
    struct Options {
        DecideRequest request;
        std::string ref;  // our number or the start of the shared id
    };
    auto o = std::make_shared<Options>();
    o->request.action = action;
    const std::string name(to_string(action));
    auto* cmd = app.add_subcommand(name, description);
    cmd->add_option("ID", o->ref, "the transfer's number, or 6+ hex digits of its id")->required();
    if constexpr (std::is_same_v<DecideCommand, AcceptCommand>) {
        cmd->add_option("--to", o->request.to,
                        "directory to receive into (default: transfer.download_dir)");
    }
    return {cmd, [o, name]() -> Command {
                DecideCommand out{o->request};
                read_ref_into(name, o->ref, out.request.id, out.request.id_prefix);
                return out;
            }};
}

Entry add_verify(CLI::App& app) {
    auto o = std::make_shared<VerifyCommand>();
    auto* cmd = app.add_subcommand(
        "verify",
        "Show this daemon's fingerprint, the peer's and the safety number of the two keys.\n"
        "Compare the number with the one `chatcli verify` shows on the peer's machine (in\n"
        "person, or over a call): on a terminal you are asked whether they match, and the\n"
        "peer is marked verified if you say y; not confirmed: exit 1, nothing changes. With\n"
        "--json or no terminal the number is shown only (exit 0). A peer whose key changed\n"
        "is verified with its new key on a terminal; --yes is refused for it (compare its\n"
        "fingerprint, then chatcli trust PEER FINGERPRINT).");
    cmd->add_flag("-y,--yes", o->request.confirm,
                  "mark it verified without asking (not for a changed key)");
    cmd->add_option("PEER", o->request.peer, "the peer to verify")->required();
    return {cmd, [o]() -> Command { return *o; }};
}

Entry add_trust(CLI::App& app) {
    auto o = std::make_shared<TrustCommand>();
    auto* cmd = app.add_subcommand(
        "trust",
        "Pin a peer's key by its fingerprint (as `chatcli id` prints it on the peer), verified:\n"
        "before first contact, or to accept a changed key. Messages held for the peer then go.");
    cmd->add_option("PEER", o->request.peer, "the peer whose key it is")->required();
    cmd->add_option("FINGERPRINT", o->request.fingerprint,
                    "its device ID, e.g. P56IOI7-MZJNU2Y-...")
        ->required();
    return {cmd, [o]() -> Command { return *o; }};
}

template <typename PlainCommand>
Entry add_plain(CLI::App& app, const std::string& name, const std::string& description) {
    return {app.add_subcommand(name, description), [] { return Command{PlainCommand{}}; }};
}

// In the order --help lists them.
std::vector<Entry> add_commands(CLI::App& app) {
    std::vector<Entry> entries;
    entries.push_back(add_send(app));
    entries.push_back(add_inbox(app));
    entries.push_back(add_chat(app));
    entries.push_back(add_history(app));
    entries.push_back(add_transfer(app));
    entries.push_back(add_transfers(app));
    entries.push_back(
        add_decide<AcceptCommand>(app, DecideAction::accept, "Accept an offered transfer."));
    entries.push_back(
        add_decide<RejectCommand>(app, DecideAction::reject, "Reject an offered transfer."));
    entries.push_back(
        add_decide<CancelCommand>(app, DecideAction::cancel, "Cancel a transfer, in or out."));
    entries.push_back(
        add_plain<StatusCommand>(app, "status", "Version, addresses, uptime and counters."));
    entries.push_back(
        add_plain<PeersCommand>(app, "peers",
                                "Aliases and the peers seen, with last-seen time, key fingerprint\n"
                                "and trust (unverified, verified, KEY CHANGED, plain)."));
    entries.push_back(add_plain<IdCommand>(
        app, "id", "This daemon's name and key fingerprint, to compare with a peer's."));
    entries.push_back(add_verify(app));
    entries.push_back(add_trust(app));
    return entries;
}

std::string unknown_command(const std::string& name, const std::vector<Entry>& entries) {
    std::string known;
    for (const auto& entry : entries)
        known += (known.empty() ? "" : ", ") + entry.command->get_name();
    return "unknown command '" + name + "' (commands: " + known + "; see --help)\n";
}

}  // namespace

int exit_code_for_refusal(std::string_view code) {
    if (code == codes::bad_request || code == codes::bad_peer || code == codes::too_large)
        return kExitUsage;
    return kExitFailed;  // key_changed too: the message waits, the command did not succeed
}

Request request_of(const Command& command) {
    return std::visit([](const auto& c) -> Request { return c.request; }, command);
}

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
    const std::vector<Entry> entries = add_commands(app);

    std::vector<std::string> reversed(args.rbegin(), args.rend());
    try {
        app.parse(reversed);
    } catch (const CLI::ParseError& e) {
        if (app.get_subcommands().empty() && !app.remaining().empty() && e.get_exit_code() != 0)
            return {std::nullopt, kExitUsage, unknown_command(app.remaining().front(), entries)};
        if (e.get_exit_code() != 0) return {std::nullopt, kExitUsage, usage_sentence(e, app)};
        std::ostringstream out, err;  // --help, --version
        app.exit(e, out, err);
        return {std::nullopt, kExitOk, out.str() + err.str()};
    }
    for (const auto& entry : entries) {
        if (!entry.command->parsed()) continue;
        try {
            inv.command = entry.finish();
        } catch (const UsageError& e) {
            return {std::nullopt, kExitUsage, "chatcli: " + e.text + "\n"};
        }
        return {inv, kExitOk, ""};
    }
    return {std::nullopt, kExitUsage, "chatcli: a command is required (see chatcli --help)\n"};
}

}  // namespace chat::cli
