#include "chat_session.hpp"

#include <poll.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <deque>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command_line.hpp"
#include "control_client.hpp"
#include "render.hpp"
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

// SIGINT/SIGTERM/SIGHUP arrive as readable data on a descriptor the loop
// polls, so leaving is an ordinary path that restores the terminal.
class SignalFd {
public:
    SignalFd() {
        sigset_t set;
        sigemptyset(&set);
        for (const int signo : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, signo);
        ::sigprocmask(SIG_BLOCK, &set, nullptr);
        fd_ = ::signalfd(-1, &set, SFD_CLOEXEC);
    }
    ~SignalFd() {
        if (fd_ >= 0) ::close(fd_);
    }
    SignalFd(const SignalFd&) = delete;
    SignalFd& operator=(const SignalFd&) = delete;
    int fd() const { return fd_; }

private:
    int fd_ = -1;
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
            std::cout << "chatting with " << peer_ << "; Ctrl-D or /quit leaves\n";
            redraw();
        }
        SignalFd signals;
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
            if (fds[0].revents) break;
            if (fds[1].revents && !on_follow_readable(follow)) break;
            if (fds[2].revents) on_input_readable();
            for (std::size_t i = in_flight_.size(); i-- > 0;) {
                if (fds[3 + i].revents) on_send_readable(i);
            }
        }
        if (tty_) std::cout << "\r\033[K" << std::flush;
        if (!in_flight_.empty() && !json_) {
            std::cerr << in_flight_.size()
                      << " message(s) not acknowledged yet; they stay in chatd's outbox\n";
        }
        return exit_code_;
    }

private:
    void print_above(const std::string& text) {
        if (tty_) {
            std::cout << "\r\033[K" << text << "\n";
            redraw();
        } else {
            std::cout << text << "\n" << std::flush;
        }
    }

    void redraw() { std::cout << "\r\033[K> " << sanitize_for_terminal(line_) << std::flush; }

    bool on_follow_readable(ControlClient& follow) {
        if (!follow.fill()) {
            print_above("chatcli: chatd closed the connection");
            exit_code_ = kExitFailed;
            return false;
        }
        while (auto line = follow.take_buffered_line()) {
            const json reply = json::parse(*line, nullptr, false);
            if (reply.is_object() && reply.contains("message")) {
                print_above(json_ ? reply["message"].dump()
                                  : render_message(message_from_json(reply["message"])));
            } else if (reply.is_object() && reply.value("ok", true) == false) {
                std::cerr << "\r\033[Kchatcli: " << reply.value("error", "error") << "\n";
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
            if (!line_.empty()) submit(std::exchange(line_, {}));
            if (tty_) done_ = true;
            return;
        }
        for (ssize_t i = 0; i < n; ++i) {
            tty_ ? on_key(static_cast<unsigned char>(chunk[i])) : on_byte(chunk[i]);
        }
    }

    void on_byte(char c) {
        if (c == '\n') {
            submit(std::exchange(line_, {}));
        } else {
            line_ += c;
        }
    }

    // A small line editor: enough to type, erase and submit, and to skip
    // the escape sequences of arrow keys instead of inserting them.
    void on_key(unsigned char c) {
        if (escape_ == 1) {
            escape_ = (c == '[' || c == 'O') ? 2 : 0;
            return;
        }
        if (escape_ == 2) {
            if (c >= 0x40 && c <= 0x7E) escape_ = 0;
            return;
        }
        switch (c) {
            case 0x1B:
                escape_ = 1;
                return;
            case '\r':
            case '\n': {
                std::string text = std::exchange(line_, {});
                if (trim(text) == "/quit") {
                    done_ = true;
                    return;
                }
                submit(std::move(text));
                redraw();
                return;
            }
            case 0x03:  // Ctrl-C
                done_ = true;
                return;
            case 0x04:  // Ctrl-D leaves on an empty line
                if (line_.empty()) done_ = true;
                return;
            case 0x7F:
            case 0x08:
                while (!line_.empty() &&
                       (static_cast<unsigned char>(line_.back()) & 0xC0) == 0x80) {
                    line_.pop_back();
                }
                if (!line_.empty()) line_.pop_back();
                break;
            case 0x15:
                line_.clear();
                break;  // Ctrl-U
            default:
                if (c < 0x20) return;
                line_ += static_cast<char>(c);
        }
        redraw();
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
        if (!json_)
            print_above("[" + local_time(now_ms()) + "] you: " + sanitize_for_terminal(text));
        in_flight_.push_back({std::move(client), std::move(text)});
    }

    void on_send_readable(std::size_t index) {
        InFlight& f = in_flight_[index];
        const bool open = f.client.fill();
        auto line = f.client.take_buffered_line();
        if (!line && open) return;
        const json reply = line ? json::parse(*line, nullptr, false) : json();
        if (json_) {
            if (line) print_above(*line);
        } else if (reply.is_object() && reply.value("ok", false)) {
            print_above("  delivered: " + sanitize_for_terminal(f.text));
        } else {
            const std::string why = reply.is_object() ? reply.value("error", "no reply")
                                                      : "chatd closed the connection";
            print_above("  NOT delivered yet: " + sanitize_for_terminal(f.text) + " (" + why + ")");
        }
        if (!(reply.is_object() && reply.value("ok", false))) exit_code_ = kExitFailed;
        in_flight_.erase(in_flight_.begin() + static_cast<std::ptrdiff_t>(index));
    }

    static std::int64_t now_ms() {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }

    std::vector<std::string> candidates_;
    std::string peer_;
    bool json_;
    bool tty_;
    bool done_ = false;
    bool input_closed_ = false;
    int escape_ = 0;
    int exit_code_ = kExitOk;
    std::string line_;
    std::deque<std::string> to_send_;
    std::vector<InFlight> in_flight_;
};

}  // namespace

int run_chat(const std::vector<std::string>& socket_candidates, const std::string& peer,
             bool json) {
    return ChatLoop(socket_candidates, peer, json).run();
}

}  // namespace chat::cli
