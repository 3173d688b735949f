// chatcli: the command-line client. Parses argv, sends one request over
// chatd's control socket, and prints the replies for a person or, with
// --json, one JSON object per line for a script.
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>

#include "chat_session.hpp"
#include "command_line.hpp"
#include "control_client.hpp"
#include "fd_passing.hpp"
#include "flat_json.hpp"
#include "manifest.hpp"
#include "paths.hpp"
#include "render.hpp"
#include "signal_fd.hpp"
#include "text.hpp"
#include "tree_walk.hpp"
#include "worker_protocol.hpp"

namespace {

using nlohmann::json;
using namespace chat::cli;

constexpr double kAnswerGraceSeconds = 5;

// The terminal's width now (read at each redraw); 80 when it cannot be read.
std::size_t terminal_columns(int fd) {
    winsize size{};
    if (::ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
    return 80;
}

// A line redrawn in place on a terminal (the progress bar, the wait for an
// answer). It never reaches the last column, so it cannot wrap; a line
// drawn before the terminal narrowed may now take several rows, which are
// cleared too. It keeps its layout, so a resize redraws it at once rather
// than at the next event, which a slow transfer may not send for long.
class StatusLine {
public:
    using Layout = std::function<std::string(std::size_t columns)>;
    explicit StatusLine(int fd) : fd_(fd) {}
    void draw(Layout layout) {
        layout_ = std::move(layout);
        const std::size_t columns = terminal_columns(fd_);
        std::string out = clear_sequence(columns);
        out += layout_(columns > 1 ? columns - 1 : 1);
        last_size_ = out.size() - clear_sequence(columns).size();
        std::cerr << out << std::flush;
    }
    // The line once more at the terminal's width now (after SIGWINCH).
    void redraw() {
        if (last_size_ != 0) draw(std::move(layout_));
    }
    // Leaves the line as it is and moves below it (before other output).
    void end() {
        if (last_size_ != 0) std::cerr << "\n" << std::flush;
        last_size_ = 0;
    }
    // Removes it.
    void clear() {
        if (last_size_ != 0) std::cerr << clear_sequence(terminal_columns(fd_)) << std::flush;
        last_size_ = 0;
    }
    bool shown() const { return last_size_ != 0; }

private:
    // Row by row with EL, not ED: clearing a whole screen (ED from its top
    // left) makes some terminals (tmux) scroll it into history first.
    std::string clear_sequence(std::size_t columns) const {
        const std::size_t rows = last_size_ == 0 ? 1 : (last_size_ + columns - 1) / columns;
        if (rows == 1) return "\r\033[K";
        const std::string up = "\033[" + std::to_string(rows - 1) + "A";
        std::string out = "\r" + up;
        for (std::size_t row = 1; row < rows; ++row) out += "\033[K\033[B";
        return out + "\033[K" + up;
    }
    int fd_;
    std::size_t last_size_ = 0;
    Layout layout_;
};

int exit_code_for(const json& reply) {
    const std::string code = reply.value("code", "");
    if (code == chat::codes::bad_request || code == chat::codes::bad_peer ||
        code == chat::codes::too_large) {
        return kExitUsage;
    }
    return kExitFailed;
}

void print_error(const json& reply) {
    // The daemon names times in UTC (RFC 3339); people read them local.
    std::cerr << "chatcli: "
              << chat::sanitize_for_terminal(
                     chat::localize_times(reply.value("error", "request failed")))
              << "\n";
}

// `transfers ID`: whether this listed transfer is the one named.
bool named_by(const json& transfer, const std::string& ref) {
    std::uint64_t number = 0;
    std::string prefix;
    if (!chat::read_transfer_ref(ref, number, prefix)) return false;
    return (number != 0 && transfer.value("id", std::uint64_t{0}) == number) ||
           (!prefix.empty() && transfer.value("transfer_id", "").starts_with(prefix));
}

// Reads reply lines until the final {"ok":...} line (or the end, when
// following); prints messages as they come.
int print_replies(ControlClient& client, const Invocation& inv) {
    std::size_t shown = 0;  // transfers ID: how many matched
    while (auto line = client.read_line()) {
        const json reply = json::parse(*line, nullptr, false);
        if (!reply.is_object()) {
            std::cerr << "chatcli: unexpected reply from chatd\n";
            return kExitFailed;
        }
        if (const auto offer = reply.find("offer"); offer != reply.end()) {
            std::cout << (inv.json ? reply.dump() : render_offer(*offer)) << "\n" << std::flush;
            continue;
        }
        if (const auto transfer = reply.find("transfer"); transfer != reply.end()) {
            if (!inv.only.empty() && !named_by(*transfer, inv.only)) continue;
            ++shown;
            std::cout << (inv.json ? transfer->dump() : render_transfer(*transfer)) << "\n";
            continue;
        }
        if (!inv.only.empty() && shown == 0 && reply.value("ok", false)) {
            std::cerr << "chatcli: no transfer " << chat::sanitize_for_terminal(inv.only) << "\n";
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
            if (inv.command == "send" || inv.command == "status" || inv.command == "peers" ||
                inv.command == "accept" || inv.command == "reject" || inv.command == "cancel") {
                std::cout << reply.dump() << "\n";
            }
        } else if (ok) {
            if (inv.command == "status") std::cout << render_status(reply);
            if (inv.command == "accept") {
                std::cout << "accepted transfer #" << reply.value("id", 0) << " into "
                          << reply.value("to", "") << "\n";
            }
            if (inv.command == "reject" || inv.command == "cancel") {
                std::cout << reply.value("state", "") << " transfer #" << reply.value("id", 0)
                          << "\n";
            }
            if (inv.command == "peers") std::cout << render_peers(reply);
            if (inv.command == "send") {
                const std::string state = reply.value("state", "");
                const std::string to = reply.value("to", "");
                if (const auto ids = reply.find("ids"); ids != reply.end()) {
                    std::cout << state << " " << ids->size()
                              << (ids->size() == 1 ? " message " : " messages ")
                              << (state == "queued" ? "for " : "to ") << to << "\n";
                } else if (state == "delivered") {
                    std::cout << "delivered to " << to << "\n";
                } else if (state == "queued") {
                    std::cout << "queued for " << to << " (id " << reply.value("id", "") << ")\n";
                } else if (state == "sent") {
                    std::cout << "sent to " << to
                              << " as plain text (plain peers do not acknowledge)\n";
                }
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

// `chatcli transfer`: walk, pass the descriptors, then follow the events.
int run_transfer(const std::vector<std::string>& candidates, Invocation& inv) {
    auto& request = std::get<chat::TransferRequest>(inv.request);
    ControlClient client = ControlClient::connect(candidates);  // before a long walk
    WalkResult walk;
    try {
        walk = walk_paths(inv.paths);
    } catch (const WalkError& e) {
        std::cerr << "chatcli: " << chat::sanitize_for_terminal(e.what()) << "\n";
        return kExitUsage;
    }
    chat::OwnedFds fds(std::move(walk.fds));
    for (const auto& notice : walk.notices)
        std::cerr << "chatcli: " << chat::sanitize_for_terminal(notice) << "\n";
    if (walk.manifest.entries.empty()) {  // an empty directory is an entry: this is nothing
        std::cerr << "chatcli: nothing to send: every path was skipped (see above)\n";
        return kExitUsage;
    }
    request.manifest = chat::encode_manifest(walk.manifest);
    request.fds = fds.size();
    client.send(inv.request);
    bool resent = false;

    const bool bar = ::isatty(STDERR_FILENO) && !inv.json;
    StatusLine status(STDERR_FILENO);
    // On a terminal a resize is waited for with chatd's next line.
    std::optional<SignalFd> resized;
    if (bar) resized.emplace(std::initializer_list<int>{SIGWINCH});
    const auto next_line = [&]() -> std::optional<std::string> {
        while (resized && !client.line_ready()) {
            pollfd fds[] = {{resized->fd(), POLLIN, 0}, {client.fd(), POLLIN, 0}};
            if (::poll(fds, 2, -1) < 0) {
                if (errno == EINTR) continue;
                break;
            }
            if (fds[0].revents) {
                resized->take();
                status.redraw();
            }
            if (fds[1].revents && !client.fill()) return std::nullopt;
        }
        return client.read_line();
    };
    bool told_unanswered = false;
    while (auto text = next_line()) {
        // One line per file: flat, so read without json's lexer.
        auto flat = chat::read_flat_object(*text);
        const json event = flat ? std::move(*flat) : json::parse(*text, nullptr, false);
        if (!event.is_object()) continue;
        // A chatd from before the manifest's own line (still running after
        // an upgrade): the request once more, with the manifest as a field.
        if (!resent && event.value("code", "") == "bad_request" &&
            event.value("error", "") == chat::kManifestMissing) {
            resent = true;
            client = ControlClient::connect(candidates);
            client.send_text(chat::encode_transfer_request_with_manifest_field(request));
            continue;
        }
        if (event.contains("send_fds")) {
            for (std::size_t at = 0; at < fds.size(); at += chat::kMaxFdsPerMessage) {
                const auto end = std::min(fds.size(), at + chat::kMaxFdsPerMessage);
                const std::vector<int> batch(fds.get().begin() + static_cast<std::ptrdiff_t>(at),
                                             fds.get().begin() + static_cast<std::ptrdiff_t>(end));
                if (!chat::send_with_fds(client.fd(), "F", batch)) {
                    std::cerr << "chatcli: cannot pass the files to chatd: " << std::strerror(errno)
                              << "\n";
                    return kExitFailed;
                }
            }
            fds.reset();  // chatd has its own copies
            continue;
        }
        if (inv.json) {
            // Flushed once the lines that came together are written: a line
            // reaches a pipe as soon as chatd sent it, without a write each.
            std::cout << *text << "\n";
            if (!client.line_ready()) std::cout << std::flush;
        }
        const std::string kind = event.value("event", "");
        if (!inv.json) {
            if (kind != "progress" && kind != "unanswered" && kind != "file") status.clear();
            if (kind == "offered") {
                std::cout << (event.value("resumed", false) ? "resuming transfer "
                                                            : "offered transfer ")
                          << transfer_label(event) << " to " << event.value("to", "") << ": "
                          << count_of(event.value("files", std::uint64_t{0}), "file", "files")
                          << ", " << chat::format_bytes(event.value("bytes", std::uint64_t{0}))
                          << "\n"
                          << std::flush;
            } else if (kind == "unanswered") {
                // The peer may be down: said once, then kept current on a terminal.
                const std::string line = render_waiting_for_answer(event.value("peer", ""));
                if (bar) {
                    const std::string since =
                        " " + render_duration(event.value("seconds", std::int64_t{0}));
                    status.draw([shown = line + since](std::size_t width) {
                        return shown.substr(0, width);
                    });
                } else if (!told_unanswered) {
                    std::cout << line << "\n" << std::flush;
                }
                told_unanswered = true;
            } else if (kind == "waiting") {
                std::cout << "waiting for the peer to accept\n" << std::flush;
            } else if (kind == "accepted") {
                std::cout << "accepted; sending\n" << std::flush;
            } else if (kind == "progress" && bar) {
                status.draw([event](std::size_t width) { return render_progress(event, width); });
            } else if (kind == "done") {
                std::cout << render_done(event) << "\n";
            }
        }
        if (event.contains("ok")) {
            status.clear();
            if (!event.value("ok", false)) {
                if (!inv.json) print_error(event);
                return exit_code_for(event);
            }
            if (!inv.json && event.value("state", "") == "offered") {
                std::cout << "follow it with: chatcli transfers\n";
            }
            return kExitOk;
        }
    }
    // chatd went away mid-transfer (it stopped or crashed): the bar's line
    // ends first, and the transfer resumes when the same paths are sent.
    status.end();
    std::cout << std::flush;
    std::cerr << "chatcli: chatd stopped answering; when it is back, run the same `chatcli "
                 "transfer` again to resume\n";
    return kExitFailed;
}

int run_transfers(const std::vector<std::string>& candidates, const Invocation& inv) {
    for (;;) {
        ControlClient client = ControlClient::connect(candidates);
        client.send(inv.request);
        client.set_read_timeout(5);
        if (inv.watch && ::isatty(STDOUT_FILENO)) std::cout << "\033[H\033[2J" << std::flush;
        const int rc = print_replies(client, inv);
        if (!inv.watch || rc != kExitOk) return rc;
        std::cout << std::flush;
        ::usleep(500'000);
        if (!::isatty(STDOUT_FILENO)) std::cout << "\n";
    }
}

// `chatcli send --lines PEER -`: stdin's lines as messages, in order, many
// to a request on one connection; stops at the first request refused.
int run_send_lines(ControlClient& client, Invocation& inv) {
    constexpr std::size_t kLinesPerRequest = 1000;
    constexpr std::size_t kBytesPerRequest = 4 << 20;
    auto& request = std::get<chat::SendRequest>(inv.request);
    std::size_t line_number = 0, first_line = 1, bytes = 0;
    const auto flush = [&]() -> int {
        if (request.texts.empty()) return kExitOk;
        client.send(request);
        client.set_read_timeout(request.timeout_seconds + kAnswerGraceSeconds);
        const int rc = print_replies(client, inv);
        if (rc != kExitOk) {
            std::cerr << "chatcli: stopped at lines " << first_line << "-" << line_number
                      << "; the lines before them were sent\n";
        }
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
            std::cerr << "chatcli: line " << line_number
                      << " is not valid UTF-8; it and the lines after it were not sent\n";
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

}  // namespace

int main(int argc, char** argv) {
    chat::raise_open_file_limit();
    const auto outcome = parse_command_line(std::vector<std::string>(argv + 1, argv + argc));
    if (!outcome.invocation) {
        (outcome.exit_code == kExitOk ? std::cout : std::cerr) << outcome.output;
        return outcome.exit_code;
    }
    Invocation inv = *outcome.invocation;
    if (inv.text_from_stdin && !inv.lines) {
        std::string text((std::istreambuf_iterator<char>(std::cin)),
                         std::istreambuf_iterator<char>());
        if (text.ends_with('\n')) text.pop_back();
        std::get<chat::SendRequest>(inv.request).text = std::move(text);
    }
    if (auto* send = std::get_if<chat::SendRequest>(&inv.request); send && !inv.lines) {
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
        if (inv.command == "transfers") return run_transfers(candidates, inv);
        if (auto* decide = std::get_if<chat::DecideRequest>(&inv.request);
            decide && !decide->to.empty()) {
            std::error_code ec;  // the daemon's working directory is not ours
            decide->to = std::filesystem::absolute(decide->to, ec).string();
        }
        if (inv.command == "transfer") return run_transfer(candidates, inv);
        if (inv.lines) {
            ControlClient client = ControlClient::connect(candidates);
            return run_send_lines(client, inv);
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
