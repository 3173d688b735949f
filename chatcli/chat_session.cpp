#include "chat_session.hpp"

#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <deque>
#include <iostream>
#include <nlohmann/json.hpp>

#include "clock.hpp"
#include "command_line.hpp"
#include "control_client.hpp"
#include "input_view.hpp"
#include "render.hpp"
#include "signal_fd.hpp"
#include "status_line.hpp"
#include "text.hpp"

namespace chat::cli {
namespace {

using nlohmann::json;

constexpr double kSendTimeoutSeconds = 30;

// Puts the terminal in non-canonical mode for our own line editor and
// puts it back however we leave.
class RawTerminal {
public:
    RawTerminal() {
        if (::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
        termios raw = saved_;
        raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO | ISIG | IEXTEN));
        raw.c_iflag &= static_cast<tcflag_t>(~(IXON | ICRNL));
        raw.c_cc[VMIN] = 1;
        raw.c_cc[VTIME] = 0;
        active_ = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0;
    }
    ~RawTerminal() {
        if (active_) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
    }
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;

private:
    termios saved_{};
    bool active_ = false;
};

struct InFlight {
    ControlClient client;
    std::string text;
};

class ChatLoop {
public:
    ChatLoop(std::vector<std::string> candidates, std::string peer, bool json)
        : candidates_(std::move(candidates)),
          peer_(std::move(peer)),
          json_(json),
          tty_(::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO)) {}

    int run() {
        ControlClient follow = ControlClient::connect(candidates_);
        follow.send(InboxRequest{0, true, peer_});
        std::optional<RawTerminal> raw;
        if (tty_) {
            raw.emplace();
            std::cout << render_chat_banner(peer_) << "\n";
            redraw();
        }
        // SIGINT/SIGTERM/SIGHUP arrive as readable data on a descriptor the
        // loop polls, so leaving is an ordinary path that restores the
        // terminal; so does SIGWINCH, to lay the input line out again.
        SignalFd signals({SIGINT, SIGTERM, SIGHUP, SIGWINCH});
        while (!done_) {
            if (!tty_ && in_flight_.empty() && !to_send_.empty()) start_next_send();
            if (!tty_ && input_closed_ && to_send_.empty() && in_flight_.empty()) break;

            std::vector<pollfd> fds;
            fds.push_back({signals.fd(), POLLIN, 0});
            fds.push_back({follow.fd(), POLLIN, 0});
            const bool want_input = !input_closed_ && (tty_ || to_send_.empty());
            fds.push_back({want_input ? STDIN_FILENO : -1, POLLIN, 0});
            for (auto& f : in_flight_) fds.push_back({f.client.fd(), POLLIN, 0});
            if (::poll(fds.data(), fds.size(), -1) < 0) {
                if (errno == EINTR) continue;
                break;
            }
            if (fds[0].revents) {
                if (signals.take() != SIGWINCH) break;
                if (tty_) redraw();
                continue;
            }
            if (fds[1].revents && !on_follow_readable(follow)) break;
            if (fds[2].revents) on_input_readable();
            for (std::size_t i = in_flight_.size(); i-- > 0;) {
                if (fds[3 + i].revents) on_send_readable(i);
            }
        }
        if (tty_) std::cout << "\r\033[K" << std::flush;
        if (!in_flight_.empty() && !json_) {
            std::cerr << render_chat_unacknowledged(in_flight_.size()) << "\n";
        }
        return exit_code_;
    }

private:
    void print_above(const std::string& text) {
        if (tty_) {
            std::cout << "\r\033[K" << text << "\n";
            drawn_columns_ = drawn_cursor_ = 0;  // the input row is gone
            redraw();
        } else {
            std::cout << text << "\n" << std::flush;
        }
    }

    // The input line is one row, never wider than the terminal less a
    // column (so it cannot wrap): it scrolls sideways to keep the cursor in
    // view, and "<" in place of ">" says text is hidden on the left.
    void redraw() {
        const auto cells = input_cells(line_);
        std::size_t cursor_cell = 0;
        for (std::size_t bytes = 0; cursor_cell < cells.size() && bytes < cursor_; ++cursor_cell)
            bytes += cells[cursor_cell].bytes;
        const std::size_t columns = terminal_columns(STDOUT_FILENO);
        const std::size_t width = columns > 3 ? columns - 3 : 1;  // less "> " and the last column
        const InputView view = layout_input(cells, cursor_cell, width, first_cell_);
        first_cell_ = view.first_cell;
        // A terminal made narrower than the row we drew rewraps it (tmux,
        // VTE, kitty...) onto rows above the cursor's: back to the first.
        // (One that truncates instead, as xterm does, loses as many rows of
        // output above from view; the inbox still has them.)
        if (columns < drawn_columns_ && drawn_cursor_ >= columns)
            std::cout << "\033[" << drawn_cursor_ / columns << "A";
        std::cout << "\r\033[J" << (view.hidden_left ? "< " : "> ") << view.shown << "\r\033["
                  << 2 + view.cursor_column << "C" << std::flush;
        drawn_columns_ = 2 + view.columns;
        drawn_cursor_ = 2 + view.cursor_column;
    }

    bool on_follow_readable(ControlClient& follow) {
        if (!follow.fill()) {
            print_above(render_said(Said::connection_closed));
            exit_code_ = kExitFailed;
            return false;
        }
        while (auto line = follow.take_buffered_line()) {
            const json reply = json::parse(*line, nullptr, false);
            if (reply.is_object() && reply.contains("message")) {
                print_above(
                    json_ ? reply["message"].dump(-1, ' ', false, json::error_handler_t::replace)
                          : render_message(message_from_json(reply["message"])));
            } else if (reply.is_object() && reply.value("ok", true) == false) {
                std::cerr << (tty_ ? "\r\033[K" : "") << render_error(reply, "error") << "\n";
                exit_code_ = reply.value("code", "") == codes::bad_peer ? kExitUsage : kExitFailed;
                return false;
            }
        }
        return true;
    }

    void on_input_readable() {
        char chunk[4096];
        const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
        if (n <= 0) {
            input_closed_ = true;
            cursor_ = 0;
            if (!line_.empty()) submit(std::exchange(line_, {}));
            if (tty_) done_ = true;
            return;
        }
        for (ssize_t i = 0; i < n && !done_; ++i) {
            tty_ ? on_key(static_cast<unsigned char>(chunk[i])) : on_byte(chunk[i]);
        }
        if (tty_ && !done_) redraw();  // once for what came together
    }

    void on_byte(char c) {
        if (c == '\n') {
            submit(std::exchange(line_, {}));
        } else {
            line_ += c;
        }
    }

    // A small line editor: type, erase, move with the arrows, Home and End,
    // and submit; other escape sequences are skipped, not inserted.
    void on_key(unsigned char c) {
        if (escape_ == 1) {
            escape_ = (c == '[' || c == 'O') ? 2 : 0;
            escape_params_.clear();
            return;
        }
        if (escape_ == 2) {
            if (c >= 0x40 && c <= 0x7E) {
                escape_ = 0;
                on_escape(static_cast<char>(c));
            } else {
                escape_params_ += static_cast<char>(c);
            }
            return;
        }
        switch (c) {
            case 0x1B:
                escape_ = 1;
                return;
            case '\r':
            case '\n': {
                std::string text = std::exchange(line_, {});
                cursor_ = 0;
                first_cell_ = 0;
                if (trim(text) == "/quit") {
                    done_ = true;
                    return;
                }
                submit(std::move(text));
                return;
            }
            case 0x03:  // Ctrl-C
                done_ = true;
                return;
            case 0x04:  // Ctrl-D leaves on an empty line
                if (line_.empty()) done_ = true;
                return;
            case 0x7F:
            case 0x08: {
                const std::size_t end = cursor_;
                cursor_ = previous_character(cursor_);
                line_.erase(cursor_, end - cursor_);
                return;
            }
            case 0x15:  // Ctrl-U
                line_.clear();
                cursor_ = 0;
                return;
            case 0x01:  // Ctrl-A
                cursor_ = 0;
                return;
            case 0x05:  // Ctrl-E
                cursor_ = line_.size();
                return;
            default:
                if (c < 0x20) return;
                line_.insert(cursor_, 1, static_cast<char>(c));
                ++cursor_;
        }
    }

    void on_escape(char final_byte) {
        if (final_byte == 'D') cursor_ = previous_character(cursor_);
        if (final_byte == 'C') cursor_ = next_character(cursor_);
        if (final_byte == 'H' ||
            (final_byte == '~' && (escape_params_ == "1" || escape_params_ == "7")))
            cursor_ = 0;
        if (final_byte == 'F' ||
            (final_byte == '~' && (escape_params_ == "4" || escape_params_ == "8")))
            cursor_ = line_.size();
        if (final_byte == '~' && escape_params_ == "3")
            line_.erase(cursor_, next_character(cursor_) - cursor_);
    }

    // Byte offsets of the characters around `at` (UTF-8 continuation bytes
    // are 10xxxxxx).
    std::size_t previous_character(std::size_t at) const {
        if (at == 0) return 0;
        --at;
        while (at > 0 && (static_cast<unsigned char>(line_[at]) & 0xC0) == 0x80) --at;
        return at;
    }
    std::size_t next_character(std::size_t at) const {
        if (at >= line_.size()) return line_.size();
        ++at;
        while (at < line_.size() && (static_cast<unsigned char>(line_[at]) & 0xC0) == 0x80) ++at;
        return at;
    }

    void submit(std::string text) {
        if (!text.empty() && text.back() == '\r') text.pop_back();
        if (trim(text).empty()) return;
        if (!tty_ && trim(text) == "/quit") {
            input_closed_ = true;
            to_send_.clear();
            return;
        }
        to_send_.push_back(std::move(text));
        if (tty_) start_next_send();
    }

    void start_next_send() {
        std::string text = std::move(to_send_.front());
        to_send_.pop_front();
        SendRequest request{peer_, text, false, true, kSendTimeoutSeconds, {}};
        ControlClient client = ControlClient::connect(candidates_);
        client.send(request);
        if (!json_) print_above(render_chat_typed(wall_clock_ms(), text));
        in_flight_.push_back({std::move(client), std::move(text)});
    }

    void on_send_readable(std::size_t index) {
        InFlight& f = in_flight_[index];
        const bool open = f.client.fill();
        auto line = f.client.take_buffered_line();
        if (!line && open) return;
        const json reply = line ? json::parse(*line, nullptr, false) : json();
        if (json_) {
            // The message as inbox and history show it, once stored; a send
            // refused before that (a bad peer, say) prints chatd's error.
            if (reply.is_object() && reply.contains("row")) {
                const auto ts = parse_rfc3339(reply.value("ts", ""));
                const MessageView sent{reply.value("row", std::int64_t{0}),
                                       kMessageOut,
                                       reply.value("to", peer_),
                                       "",
                                       f.text,
                                       ts,
                                       reply.value("plain", false),
                                       reply.value("state", "queued"),
                                       ts};
                print_above(
                    message_to_json(sent).dump(-1, ' ', false, json::error_handler_t::replace));
            } else if (line) {
                print_above(*line);
            }
        } else if (reply.is_object() && reply.value("ok", false)) {
            print_above(render_chat_delivered(f.text));
        } else {
            print_above(render_chat_not_delivered(f.text, reply));
        }
        if (!(reply.is_object() && reply.value("ok", false))) exit_code_ = kExitFailed;
        in_flight_.erase(in_flight_.begin() + static_cast<std::ptrdiff_t>(index));
    }

    std::vector<std::string> candidates_;
    std::string peer_;
    bool json_;
    bool tty_;
    bool done_ = false;
    bool input_closed_ = false;
    int escape_ = 0;
    std::string escape_params_;  // between ESC [ and the final byte
    int exit_code_ = kExitOk;
    std::string line_;
    std::size_t cursor_ = 0;         // byte offset in line_
    std::size_t first_cell_ = 0;     // of line_ shown at the left, kept between redraws
    std::size_t drawn_columns_ = 0;  // the input row as last drawn, prompt included
    std::size_t drawn_cursor_ = 0;   // and the cursor's column in it
    std::deque<std::string> to_send_;
    std::vector<InFlight> in_flight_;
};

}  // namespace

int run_chat(const std::vector<std::string>& socket_candidates, const std::string& peer,
             bool json) {
    return ChatLoop(socket_candidates, peer, json).run();
}

}  // namespace chat::cli
