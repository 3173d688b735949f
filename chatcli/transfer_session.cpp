#include "transfer_session.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "control_client.hpp"
#include "fd_passing.hpp"
#include "flat_json.hpp"
#include "manifest.hpp"
#include "render.hpp"
#include "signal_fd.hpp"
#include "status_line.hpp"
#include "tree_walk.hpp"
#include "worker_protocol.hpp"

namespace chat::cli {
namespace {

using nlohmann::json;

class TransferSession {
public:
    TransferSession(std::vector<std::string> candidates, TransferCommand command, bool json)
        : candidates_(std::move(candidates)),
          command_(std::move(command)),
          json_(json),
          bar_(::isatty(STDERR_FILENO) && !json),
          client_(ControlClient::connect(candidates_)) {}  // before a long walk

    int run() {
        if (const int rc = offer(); rc != kExitOk) return rc;
        // On a terminal a resize is waited for with chatd's next line.
        if (bar_) resized_.emplace(std::initializer_list<int>{SIGWINCH});
        while (auto text = next_line()) {
            // One line per file: flat, so read without json's lexer.
            auto flat = read_flat_object(*text);
            const json event = flat ? std::move(*flat) : json::parse(*text, nullptr, false);
            if (!event.is_object()) continue;
            if (resent_for_older_chatd(event)) continue;
            if (event.contains("send_fds")) {
                if (!pass_descriptors()) return kExitFailed;
                continue;
            }
            if (json_) {
                // Flushed once the lines that came together are written: a line
                // reaches a pipe as soon as chatd sent it, without a write each.
                std::cout << *text << "\n";
                if (!client_.line_ready()) std::cout << std::flush;
            } else {
                show(event);
            }
            if (event.contains("ok")) return finish(event);
        }
        // chatd went away mid-transfer (it stopped or crashed): the bar's line
        // ends first, and the transfer resumes when the same paths are sent.
        status_.end();
        std::cout << std::flush;
        std::cerr << render_said(Said::stopped_answering) << "\n";
        return kExitFailed;
    }

private:
    // Walks the paths and sends the request with their manifest.
    int offer() {
        WalkResult walk;
        try {
            walk = walk_paths(command_.paths);
        } catch (const WalkError& e) {
            std::cerr << render_notice(e.what()) << "\n";
            return kExitUsage;
        }
        fds_ = OwnedFds(std::move(walk.fds));
        for (const auto& notice : walk.notices) std::cerr << render_notice(notice) << "\n";
        if (walk.manifest.entries.empty()) {  // an empty directory is an entry: this is nothing
            std::cerr << render_said(Said::nothing_to_send) << "\n";
            return kExitUsage;
        }
        command_.request.manifest = encode_manifest(walk.manifest);
        command_.request.fds = fds_.size();
        client_.send(command_.request);
        return kExitOk;
    }

    // A chatd from before the manifest's own line (still running after an
    // upgrade): the request once more, with the manifest as a field.
    bool resent_for_older_chatd(const json& event) {
        if (resent_ || event.value("code", "") != codes::bad_request ||
            event.value("error", "") != kManifestMissing)
            return false;
        resent_ = true;
        client_ = ControlClient::connect(candidates_);
        client_.send_text(encode_transfer_request_with_manifest_field(command_.request));
        return true;
    }

    bool pass_descriptors() {
        for (std::size_t at = 0; at < fds_.size(); at += kMaxFdsPerMessage) {
            const auto end = std::min(fds_.size(), at + kMaxFdsPerMessage);
            const std::vector<int> batch(fds_.get().begin() + static_cast<std::ptrdiff_t>(at),
                                         fds_.get().begin() + static_cast<std::ptrdiff_t>(end));
            if (!send_with_fds(client_.fd(), "F", batch)) {
                std::cerr << render_cannot_pass_files(std::strerror(errno)) << "\n";
                return false;
            }
        }
        fds_.reset();  // chatd has its own copies
        return true;
    }

    // The next line from chatd; on a terminal, redraws the status line
    // after a resize while waiting for it.
    std::optional<std::string> next_line() {
        while (resized_ && !client_.line_ready()) {
            pollfd fds[] = {{resized_->fd(), POLLIN, 0}, {client_.fd(), POLLIN, 0}};
            if (::poll(fds, 2, -1) < 0) {
                if (errno == EINTR) continue;
                break;
            }
            if (fds[0].revents) {
                resized_->take();
                status_.redraw();
            }
            if (fds[1].revents && !client_.fill()) return std::nullopt;
        }
        return client_.read_line();
    }

    void show(const json& event) {
        const TransferEvent kind = transfer_event_kind(event);
        if (kind != TransferEvent::progress && kind != TransferEvent::unanswered &&
            kind != TransferEvent::file)
            status_.clear();
        if (kind == TransferEvent::unanswered) {
            // The peer may be down: said once, then kept current on a terminal.
            if (bar_) {
                status_.draw([shown = render_unanswered(event, true)](std::size_t width) {
                    return shown.substr(0, width);
                });
            } else if (!told_unanswered_) {
                std::cout << render_unanswered(event, false) << "\n" << std::flush;
            }
            told_unanswered_ = true;
        } else if (kind == TransferEvent::progress) {
            if (bar_)
                status_.draw([event](std::size_t width) { return render_progress(event, width); });
        } else if (const std::string line = render_transfer_event(event); !line.empty()) {
            std::cout << line << "\n";
            if (kind != TransferEvent::done) std::cout << std::flush;
        }
    }

    int finish(const json& reply) {
        status_.clear();
        if (!reply.value("ok", false)) {
            if (!json_) std::cerr << render_error(reply) << "\n";
            return exit_code_for_refusal(reply.value("code", ""));
        }
        if (!json_) {
            if (const std::string line = render_transfer_reply(reply); !line.empty())
                std::cout << line << "\n";
        }
        return kExitOk;
    }

    std::vector<std::string> candidates_;
    TransferCommand command_;
    bool json_;
    bool bar_;  // progress drawn on stderr's terminal
    ControlClient client_;
    OwnedFds fds_;
    bool resent_ = false;
    bool told_unanswered_ = false;
    StatusLine status_{STDERR_FILENO};
    std::optional<SignalFd> resized_;
};

}  // namespace

int run_transfer(const std::vector<std::string>& socket_candidates, TransferCommand command,
                 bool json) {
    return TransferSession(socket_candidates, std::move(command), json).run();
}

}  // namespace chat::cli
