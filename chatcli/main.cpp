// chatcli: the command-line client. Parses argv, sends one request over
// chatd's control socket, and prints the replies for a person or, with
// --json, one JSON object per line for a script.
#include <unistd.h>

#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "chat_session.hpp"
#include "command_line.hpp"
#include "control_client.hpp"
#include "paths.hpp"
#include "render.hpp"
#include "text.hpp"

namespace {

using nlohmann::json;
using namespace chat::cli;

constexpr double kAnswerGraceSeconds = 5;

int exit_code_for(const json& reply) {
    const std::string code = reply.value("code", "");
    if (code == chat::codes::bad_request || code == chat::codes::bad_peer ||
        code == chat::codes::too_large) {
        return kExitUsage;
    }
    return kExitFailed;
}

void print_error(const json& reply) {
    std::cerr << "chatcli: " << chat::sanitize_for_terminal(reply.value("error", "request failed"))
              << "\n";
}

// Reads reply lines until the final {"ok":...} line (or the end, when
// following); prints messages as they come.
int print_replies(ControlClient& client, const Invocation& inv) {
    while (auto line = client.read_line()) {
        const json reply = json::parse(*line, nullptr, false);
        if (!reply.is_object()) {
            std::cerr << "chatcli: unexpected reply from chatd\n";
            return kExitFailed;
        }
        if (const auto message = reply.find("message"); message != reply.end()) {
            if (inv.json) {
                std::cout << message->dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
            } else {
                std::cout << render_message(chat::message_from_json(*message)) << "\n";
            }
            std::cout << std::flush;
            continue;
        }
        const bool ok = reply.value("ok", false);
        if (inv.json && (ok || inv.command == "send")) {
            // Scripts get the final reply of send, status and peers as is.
            if (inv.command == "send" || inv.command == "status" || inv.command == "peers") {
                std::cout << reply.dump() << "\n";
            }
        } else if (ok) {
            if (inv.command == "status") std::cout << render_status(reply);
            if (inv.command == "peers") std::cout << render_peers(reply);
            if (inv.command == "send") {
                const std::string state = reply.value("state", "");
                const std::string to = reply.value("to", "");
                if (state == "delivered") std::cout << "delivered to " << to << "\n";
                if (state == "queued")
                    std::cout << "queued for " << to << " (id " << reply.value("id", "") << ")\n";
                if (state == "sent")
                    std::cout << "sent to " << to
                              << " as plain text (plain peers do not acknowledge)\n";
            }
        }
        if (!ok) {
            if (!inv.json || inv.command != "send") print_error(reply);
            return exit_code_for(reply);
        }
        return kExitOk;
    }
    if (std::get_if<chat::InboxRequest>(&inv.request) &&
        std::get<chat::InboxRequest>(inv.request).follow) {
        std::cerr << "chatcli: chatd closed the connection\n";
    } else {
        std::cerr << "chatcli: chatd closed the connection without an answer\n";
    }
    return kExitFailed;
}

}  // namespace

int main(int argc, char** argv) {
    const auto outcome = parse_command_line(std::vector<std::string>(argv + 1, argv + argc));
    if (!outcome.invocation) {
        (outcome.exit_code == kExitOk ? std::cout : std::cerr) << outcome.output;
        return outcome.exit_code;
    }
    Invocation inv = *outcome.invocation;
    if (inv.text_from_stdin) {
        std::string text((std::istreambuf_iterator<char>(std::cin)),
                         std::istreambuf_iterator<char>());
        if (text.ends_with('\n')) text.pop_back();
        std::get<chat::SendRequest>(inv.request).text = std::move(text);
    }
    if (auto* send = std::get_if<chat::SendRequest>(&inv.request)) {
        if (chat::trim(send->text).empty()) {
            std::cerr << "chatcli: empty message; nothing was sent\n";
            return kExitUsage;
        }
        if (!chat::is_valid_utf8(send->text)) {
            std::cerr << "chatcli: the text is not valid UTF-8; nothing was sent\n";
            return kExitUsage;
        }
        if (send->text.size() > chat::kMaxRequestBytes - 1024) {
            std::cerr << "chatcli: the message is " << send->text.size()
                      << " bytes, more than fits in one datagram; nothing was sent\n";
            return kExitUsage;
        }
    }

    const auto candidates = inv.socket.empty()
                                ? chat::client_socket_candidates(chat::process_env(), ::getuid())
                                : std::vector<std::string>{inv.socket};
    try {
        if (inv.command == "chat") {
            return run_chat(candidates, std::get<chat::InboxRequest>(inv.request).peer, inv.json);
        }
        ControlClient client = ControlClient::connect(candidates);
        client.send(inv.request);
        // Room past send's own timeout, which the daemon enforces and reports.
        if (const auto* send = std::get_if<chat::SendRequest>(&inv.request)) {
            client.set_read_timeout(send->timeout_seconds + kAnswerGraceSeconds);
        } else if (!std::get_if<chat::InboxRequest>(&inv.request) ||
                   !std::get<chat::InboxRequest>(inv.request).follow) {
            client.set_read_timeout(kAnswerGraceSeconds);
        }
        return print_replies(client, inv);
    } catch (const ControlClient::Unreachable& e) {
        std::cerr << "chatcli: " << e.what() << "\n";
        return kExitUnreachable;
    } catch (const ControlClient::NoAnswer& e) {
        std::cerr << "chatcli: " << e.what() << "\n";
        return kExitFailed;
    }
}
