// chatcli: the command-line client. Parses argv, sends one request over
// chatd's control socket, and prints the replies for a person or, with
// --json, one JSON object per line for a script. This file is the wiring:
// one handler per command (chosen by its type), the words are render's.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>

#include "chat_session.hpp"
#include "command_line.hpp"
#include "control_client.hpp"
#include "fd_passing.hpp"
#include "paths.hpp"
#include "render.hpp"
#include "text.hpp"
#include "transfer_session.hpp"

namespace {

using nlohmann::json;
using namespace chat::cli;

constexpr double kAnswerGraceSeconds = 5;

struct Context {
    std::vector<std::string> candidates;  // chatd's control socket: where to look
    bool json = false;
};

// How a command's replies are shown besides the messages, offers and
// transfers streamed before the final {"ok":...} line.
struct ReplyStyle {
    using Render = std::string (*)(const json& reply);
    // What an ok final reply prints for a person; null: nothing.
    Render render = nullptr;
    // --json: whether scripts get the final reply as is. `always` (send):
    // a refusal too, which is then not told again on stderr.
    enum class Echo { never, when_ok, always } echo = Echo::never;
    const TransfersCommand* only = nullptr;  // transfers ID: only the transfer it names
    bool following = false;
};

ReplyStyle shown_as(ReplyStyle::Render render, ReplyStyle::Echo echo) {
    ReplyStyle style;
    style.render = render;
    style.echo = echo;
    return style;
}

// `transfers ID`: whether this listed transfer is the one named.
bool named_by(const json& transfer, const TransfersCommand& command) {
    return (command.only_number != 0 &&
            transfer.value("id", std::uint64_t{0}) == command.only_number) ||
           (!command.only_prefix.empty() &&
            transfer.value("transfer_id", "").starts_with(command.only_prefix));
}

// The final reply: printed as its command shows it; the exit code.
int finish_replies(const json& reply, const ReplyStyle& style, bool json_output) {
    const bool ok = reply.value("ok", false);
    if (json_output) {
        if (style.echo == ReplyStyle::Echo::always ||
            (ok && style.echo == ReplyStyle::Echo::when_ok))
            std::cout << reply.dump() << "\n";
    } else if (ok && style.render != nullptr) {
        std::cout << style.render(reply);
    }
    if (ok) return kExitOk;
    if (!json_output || style.echo != ReplyStyle::Echo::always)
        std::cerr << render_error(reply) << "\n";
    return exit_code_for_refusal(reply.value("code", ""));
}

// Reads reply lines until the final {"ok":...} line (or the end, when
// following); prints messages as they come.
int print_replies(ControlClient& client, const ReplyStyle& style, bool json_output) {
    std::size_t shown = 0;  // transfers ID: how many matched
    while (auto line = client.read_line()) {
        const json reply = json::parse(*line, nullptr, false);
        if (!reply.is_object()) {
            std::cerr << render_said(Said::unexpected_reply) << "\n";
            return kExitFailed;
        }
        if (const auto offer = reply.find("offer"); offer != reply.end()) {
            std::cout << (json_output ? reply.dump() : render_offer(*offer)) << "\n" << std::flush;
            continue;
        }
        if (const auto transfer = reply.find("transfer"); transfer != reply.end()) {
            if (style.only != nullptr && !named_by(*transfer, *style.only)) continue;
            ++shown;
            std::cout << (json_output ? transfer->dump() : render_transfer(*transfer)) << "\n";
            continue;
        }
        if (style.only != nullptr && shown == 0 && reply.value("ok", false)) {
            std::cerr << render_no_transfer(style.only->only) << "\n";
            return kExitFailed;
        }
        if (const auto message = reply.find("message"); message != reply.end()) {
            if (json_output) {
                std::cout << message->dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
            } else {
                std::cout << render_message(chat::message_from_json(*message)) << "\n";
            }
            std::cout << std::flush;
            continue;
        }
        return finish_replies(reply, style, json_output);
    }
    std::cerr << render_said(style.following ? Said::connection_closed : Said::closed_unanswered)
              << "\n";
    return kExitFailed;
}

// One request, its replies printed. `read_timeout` 0 waits forever.
int ask(const Context& ctx, const chat::Request& request, const ReplyStyle& style,
        double read_timeout = kAnswerGraceSeconds) {
    ControlClient client = ControlClient::connect(ctx.candidates);
    client.send(request);
    if (read_timeout > 0) client.set_read_timeout(read_timeout);
    return print_replies(client, style, ctx.json);
}

// Why a message cannot be sent, before asking chatd; empty if it can.
std::string refusal_of(const std::string& text) {
    if (chat::trim(text).empty()) return render_said(Said::empty_message);
    if (!chat::is_valid_utf8(text)) return render_said(Said::text_not_utf8);
    if (text.size() > chat::kMaxRequestBytes - 1024) return render_too_large(text.size());
    return "";
}

// `chatcli send --lines PEER -`: stdin's lines as messages, in order, many
// to a request on one connection; stops at the first request refused.
int send_lines(const Context& ctx, chat::SendRequest request, const ReplyStyle& style) {
    constexpr std::size_t kLinesPerRequest = 1000;
    constexpr std::size_t kBytesPerRequest = 4 << 20;
    ControlClient client = ControlClient::connect(ctx.candidates);
    std::size_t line_number = 0, first_line = 1, bytes = 0;
    const auto flush = [&]() -> int {
        if (request.texts.empty()) return kExitOk;
        client.send(request);
        client.set_read_timeout(request.timeout_seconds + kAnswerGraceSeconds);
        const int rc = print_replies(client, style, ctx.json);
        if (rc != kExitOk) std::cerr << render_stopped_at_lines(first_line, line_number) << "\n";
        request.texts.clear();
        bytes = 0;
        first_line = line_number + 1;
        return rc;
    };
    std::string line;
    while (std::getline(std::cin, line)) {
        ++line_number;
        if (line.ends_with('\r')) line.pop_back();
        if (chat::trim(line).empty()) {
            if (request.texts.empty()) first_line = line_number + 1;
            continue;
        }
        if (!chat::is_valid_utf8(line)) {
            const int rc = flush();
            std::cerr << render_line_not_utf8(line_number) << "\n";
            return rc != kExitOk ? rc : kExitUsage;
        }
        bytes += line.size();
        request.texts.push_back(std::move(line));
        if (request.texts.size() == kLinesPerRequest || bytes >= kBytesPerRequest) {
            if (const int rc = flush(); rc != kExitOk) return rc;
        }
    }
    return flush();
}

int handle(const SendCommand& command, const Context& ctx) {
    const ReplyStyle style = shown_as(render_sent, ReplyStyle::Echo::always);
    if (command.lines) return send_lines(ctx, command.request, style);
    chat::SendRequest request = command.request;
    if (command.text_from_stdin) {
        request.text.assign(std::istreambuf_iterator<char>(std::cin),
                            std::istreambuf_iterator<char>());
        if (request.text.ends_with('\n')) request.text.pop_back();
    }
    if (const std::string refusal = refusal_of(request.text); !refusal.empty()) {
        std::cerr << refusal << "\n";
        return kExitUsage;
    }
    // Room past send's own timeout, which the daemon enforces and reports.
    return ask(ctx, request, style, request.timeout_seconds + kAnswerGraceSeconds);
}

int handle(const InboxCommand& command, const Context& ctx) {
    ReplyStyle style;
    style.following = command.request.follow;
    return ask(ctx, command.request, style, style.following ? 0 : kAnswerGraceSeconds);
}

int handle(const ChatCommand& command, const Context& ctx) {
    return run_chat(ctx.candidates, command.request.peer, ctx.json);
}

int handle(const HistoryCommand& command, const Context& ctx) {
    return ask(ctx, command.request, {});
}

int handle(const TransferCommand& command, const Context& ctx) {
    return run_transfer(ctx.candidates, command, ctx.json);
}

int handle(const TransfersCommand& command, const Context& ctx) {
    const bool watch = command.request.watch;
    ReplyStyle style;
    if (!command.only.empty()) style.only = &command;
    for (;;) {
        ControlClient client = ControlClient::connect(ctx.candidates);
        client.send(command.request);
        client.set_read_timeout(kAnswerGraceSeconds);
        if (watch && ::isatty(STDOUT_FILENO)) std::cout << "\033[H\033[2J" << std::flush;
        const int rc = print_replies(client, style, ctx.json);
        if (!watch || rc != kExitOk) return rc;
        std::cout << std::flush;
        ::usleep(500'000);
        if (!::isatty(STDOUT_FILENO)) std::cout << "\n";
    }
}

int handle(const AcceptCommand& command, const Context& ctx) {
    chat::DecideRequest request = command.request;
    if (!request.to.empty()) {
        std::error_code ec;  // the daemon's working directory is not ours
        request.to = std::filesystem::absolute(request.to, ec).string();
    }
    return ask(ctx, request, shown_as(render_accepted, ReplyStyle::Echo::when_ok));
}

int handle(const RejectCommand& command, const Context& ctx) {
    return ask(ctx, command.request, shown_as(render_decided, ReplyStyle::Echo::when_ok));
}

int handle(const CancelCommand& command, const Context& ctx) {
    return ask(ctx, command.request, shown_as(render_decided, ReplyStyle::Echo::when_ok));
}

int handle(const StatusCommand& command, const Context& ctx) {
    return ask(ctx, command.request, shown_as(render_status, ReplyStyle::Echo::when_ok));
}

int handle(const PeersCommand& command, const Context& ctx) {
    return ask(ctx, command.request, shown_as(render_peers, ReplyStyle::Echo::when_ok));
}

int handle(const IdCommand& command, const Context& ctx) {
    return ask(ctx, command.request, shown_as(render_id, ReplyStyle::Echo::when_ok));
}

// One request and its final reply, told as finish_replies tells it
// (--json: echoed); nullopt after a refusal (its exit code in `rc`).
std::optional<json> ask_for_reply(const Context& ctx, const chat::Request& request, int& rc) {
    ControlClient client = ControlClient::connect(ctx.candidates);
    client.send(request);
    client.set_read_timeout(kAnswerGraceSeconds);
    const auto line = client.read_line();
    const json reply = line ? json::parse(*line, nullptr, false) : json();
    if (!reply.is_object()) {
        std::cerr << render_said(line ? Said::unexpected_reply : Said::closed_unanswered) << "\n";
        rc = kExitFailed;
        return std::nullopt;
    }
    rc = finish_replies(reply, shown_as(nullptr, ReplyStyle::Echo::always), ctx.json);
    if (rc != kExitOk) return std::nullopt;
    return reply;
}

// Whether the person at the terminal says the numbers match.
bool confirmed_at_terminal(const std::string& peer) {
    std::cerr << render_verify_question(peer) << std::flush;
    std::string answer;
    if (!std::getline(std::cin, answer)) return false;
    answer = chat::trim(answer);
    return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES";
}

int handle(const VerifyCommand& command, const Context& ctx) {
    const std::string& peer = command.request.peer;
    int rc = kExitOk;
    const auto shown = ask_for_reply(ctx, command.request, rc);
    if (!shown) return rc;
    if (!ctx.json) std::cout << render_verify(*shown, peer) << std::flush;
    if (command.request.confirm) {  // --yes: verified by that request
        if (!ctx.json) std::cout << render_verified(*shown);
        return kExitOk;
    }
    // Shown only: for a script (--json), or with no terminal to ask at.
    if (ctx.json) return kExitOk;
    if (!::isatty(STDIN_FILENO)) {
        std::cerr << render_verify_not_asked(peer) << "\n";
        return kExitOk;
    }
    if (!confirmed_at_terminal(peer)) {
        std::cerr << render_not_verified(peer) << "\n";
        return kExitFailed;
    }
    chat::VerifyRequest confirm = command.request;
    confirm.confirm = true;
    confirm.safety_number = shown->value("safety_number", "");
    const auto verified = ask_for_reply(ctx, confirm, rc);
    if (!verified) return rc;
    std::cout << render_verified(*verified);
    return kExitOk;
}

int handle(const TrustCommand& command, const Context& ctx) {
    return ask(ctx, command.request, shown_as(render_trusted, ReplyStyle::Echo::when_ok));
}

}  // namespace

int main(int argc, char** argv) {
    chat::raise_open_file_limit();
    const auto outcome = parse_command_line(std::vector<std::string>(argv + 1, argv + argc));
    if (!outcome.invocation) {
        (outcome.exit_code == kExitOk ? std::cout : std::cerr) << outcome.output;
        return outcome.exit_code;
    }
    const Invocation& inv = *outcome.invocation;
    const Context ctx{inv.socket.empty()
                          ? chat::client_socket_candidates(chat::process_env(), ::getuid())
                          : std::vector<std::string>{inv.socket},
                      inv.json};
    try {
        return std::visit([&](const auto& command) { return handle(command, ctx); }, inv.command);
    } catch (const ControlClient::Unreachable& e) {
        std::cerr << render_failure(e.what()) << "\n";
        return kExitUnreachable;
    } catch (const ControlClient::NoAnswer& e) {
        std::cerr << render_failure(e.what()) << "\n";
        return kExitFailed;
    }
}
