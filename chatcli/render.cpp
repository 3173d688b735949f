#include "render.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "text.hpp"

namespace chat::cli {

using nlohmann::json;

std::string local_time(std::int64_t unix_ms) { return format_local_time(unix_ms); }

std::string render_message(const MessageView& m) {
    // When it was sent, by the sender's clock; and when it arrived, if that
    // was much later (it waited in the sender's outbox for us to come up).
    constexpr std::int64_t kLateMs = 60'000;
    std::string when = local_time(m.sent_ms != 0 ? m.sent_ms : m.ts_ms);
    if (m.incoming() && m.sent_ms != 0 &&
        (m.ts_ms - m.sent_ms > kLateMs || m.sent_ms - m.ts_ms > kLateMs)) {
        when += ", received " + local_time(m.ts_ms);
    }
    std::string out = "[" + when + "] ";
    if (m.outgoing()) {
        out += "-> " + m.peer + ": " + sanitize_for_terminal(m.text) + "  (" + m.state + ")";
        return out;
    }
    if (!m.name.empty()) {
        out += sanitize_for_terminal(m.name) + " (" + m.peer + ")";
    } else {
        out += m.peer;
    }
    out += m.plain ? " [plain]: " : ": ";
    out += sanitize_for_terminal(m.text);
    return out;
}

std::string render_duration(std::int64_t seconds) {
    std::ostringstream out;
    if (seconds >= 86400) out << seconds / 86400 << "d ";
    if (seconds >= 3600) out << (seconds % 86400) / 3600 << "h ";
    if (seconds >= 60) out << (seconds % 3600) / 60 << "m ";
    out << seconds % 60 << "s";
    return out.str();
}

namespace {
std::string render_workers(const json& w) {
    if (!w.is_object()) return "";
    std::ostringstream out;
    out << "  workers    " << w.value("pids", json::array()).size() << " processes, "
        << w.value("busy", 0) << " busy, "
        << count_of(w.value("queued", std::uint64_t{0}), "job", "jobs") << " queued, "
        << w.value("restarts", 0) << " restarted\n";
    return out.str();
}
}  // namespace

std::string render_status(const json& s) {
    std::ostringstream out;
    out << "chatd " << s.value("version", "?") << " as '"
        << sanitize_for_terminal(s.value("name", "")) << "'\n"
        << "  listening  udp " << s.value("listen", "?") << "\n"
        << "  socket     " << s.value("socket", "?") << "\n"
        << "  state      " << s.value("state_dir", "?") << "\n"
        << "  uptime     " << render_duration(s.value("uptime_seconds", std::int64_t{0})) << "\n"
        << "  outbox     " << s.value("outbox", 0) << " awaiting an ack\n";
    if (const auto security = s.find("security"); security != s.end() && security->is_object()) {
        out << "  security   accept_new_peers="
            << sanitize_for_terminal(security->value("accept_new_peers", "?"))
            << " plain_peers=" << sanitize_for_terminal(security->value("plain_peers", "?"))
            << "\n";
    }
    out << render_workers(s.value("workers", json())) << "  counters  ";
    const json counters = s.value("counters", json::object());
    for (const auto& [key, value] : counters.items()) {
        std::string label = key;
        for (auto& c : label) c = c == '_' ? '-' : c;
        out << " " << label << "=" << value.dump();
    }
    out << "\n";
    return out.str();
}

namespace {
// A peer's trust as `peers` shows it: what needs a person's eye in capitals.
std::string trust_label(const std::string& trust) {
    if (trust == "key_changed") return "KEY CHANGED";
    if (trust == "not_trusted") return "NOT TRUSTED";
    if (trust == "plain") return "plain, unauthenticated";
    return sanitize_for_terminal(trust);
}
}  // namespace

std::string render_peers(const json& reply) {
    std::ostringstream out;
    const auto aliases = reply.value("aliases", json::object());
    const auto peers = reply.value("peers", json::array());
    if (aliases.empty() && peers.empty()) return "no aliases configured and no peers seen yet\n";
    if (!aliases.empty()) {
        out << "aliases:\n";
        for (const auto& [alias, address] : aliases.items()) {
            out << "  " << alias << " -> " << address.get<std::string>() << "\n";
        }
    }
    if (!peers.empty()) {
        out << "peers seen:\n";
        for (const auto& p : peers) {
            out << "  " << p.value("address", "?");
            if (p.contains("name")) out << "  " << sanitize_for_terminal(p.value("name", ""));
            const std::string seen = p.value("last_seen", "?");
            const std::int64_t seen_ms = parse_rfc3339(seen);
            if (p.contains("last_seen")) {
                out << "  last seen " << (seen_ms != 0 ? local_time(seen_ms) : seen) << "  speaks "
                    << p.value("speaks", "?");
            } else {
                out << "  not seen yet";
            }
            if (p.contains("fingerprint"))
                out << "  key " << sanitize_for_terminal(p.value("fingerprint", ""));
            if (p.contains("trust")) out << "  " << trust_label(p.value("trust", ""));
            out << "\n";
        }
    }
    return out.str();
}

}  // namespace chat::cli

namespace chat::cli {

std::string count_of(std::uint64_t n, const char* singular, const char* plural) {
    return std::to_string(n) + " " + (n == 1 ? singular : plural);
}

std::string render_eta(std::optional<double> seconds_left) {
    if (!seconds_left || !(*seconds_left > 0)) return "";
    if (*seconds_left < 1) return "<1s";
    return render_duration(static_cast<std::int64_t>(std::ceil(*seconds_left)));
}

std::string layout_progress(const ProgressFields& f, std::size_t width) {
    constexpr std::size_t kFullBar = 24, kShortestBar = 10;
    const double fraction =
        f.total_bytes == 0
            ? 1.0
            : std::min(1.0, static_cast<double>(f.bytes) / static_cast<double>(f.total_bytes));
    // In the order shown; `drop` is the order they go in when narrow.
    enum Field { bar, percent, bytes, files, rate, eta, count };
    std::string text[count];
    text[percent] = std::to_string(static_cast<int>(fraction * 100)) + "%";
    text[bytes] = format_bytes(f.bytes) + " / " + format_bytes(f.total_bytes);
    text[files] = std::to_string(f.files) + "/" + count_of(f.total_files, "file", "files");
    text[rate] = format_bytes(static_cast<std::uint64_t>(std::max(0.0, f.rate))) + "/s";
    if (const std::string left = render_eta(f.eta); !left.empty() && f.bytes < f.total_bytes)
        text[eta] = "ETA " + left;
    bool shown[count];
    for (int i = 0; i < count; ++i) shown[i] = i == bar || !text[i].empty();
    const Field drop[] = {files, rate, bytes, eta, bar};
    for (std::size_t dropped = 0;; ++dropped) {
        std::size_t others = 0;  // columns of what is shown beside the bar
        for (int i = percent; i < count; ++i)
            if (shown[i]) others += (others == 0 ? 0 : 2) + text[i].size();
        if (shown[bar]) {
            // "[" bar "] " then the rest
            const std::size_t room = width > others + 3 ? width - others - 3 : 0;
            if (room >= kShortestBar) {
                const std::size_t cells = std::min(kFullBar, room);
                const auto filled = static_cast<std::size_t>(fraction * static_cast<double>(cells));
                std::string line =
                    "[" + std::string(filled, '#') + std::string(cells - filled, '.') + "]";
                for (int i = percent; i < count; ++i)
                    if (shown[i]) line += (i == percent ? " " : "  ") + text[i];
                return line;
            }
        } else if (others <= width) {
            std::string line;
            for (int i = percent; i < count; ++i)
                if (shown[i]) line += (line.empty() ? "" : "  ") + text[i];
            return line;
        }
        if (dropped == std::size(drop)) return text[percent].substr(0, width);
        shown[drop[dropped]] = false;
    }
}

std::string render_progress(const json& e, std::size_t width) {
    ProgressFields f;
    f.total_bytes = e.value("total_bytes", std::uint64_t{0});
    f.bytes = e.value("bytes", std::uint64_t{0});
    f.files = e.value("files", std::uint64_t{0});
    f.total_files = e.value("total_files", std::uint64_t{0});
    f.rate = e.value("rate", 0.0);
    if (const auto it = e.find("eta"); it != e.end() && it->is_number()) f.eta = it->get<double>();
    return layout_progress(f, width);
}

namespace {
std::string joined_names(const json& names) {
    std::string out;
    for (const auto& n : names)
        out += (out.empty() ? "" : ", ") + sanitize_for_terminal(n.get<std::string>());
    return out;
}
}  // namespace

std::string render_done(const json& event) {
    std::ostringstream out;
    const auto bytes = event.value("bytes", std::uint64_t{0});
    const auto sent = std::min(bytes, event.value("sent_bytes", bytes));
    // Data time: from acceptance to done. An older chatd sends only the
    // whole time, wait for a person included.
    const double seconds = event.value("data_seconds", event.value("seconds", 0.0));
    out << "done: " << count_of(event.value("files", std::uint64_t{0}), "file", "files") << ", "
        << format_bytes(bytes);
    if (sent < bytes) out << " (" << format_bytes(bytes - sent) << " already there)";
    out << ", " << std::fixed << std::setprecision(seconds < 10 ? 2 : 1) << seconds << " s";
    if (seconds > 0 && sent > 0)
        out << ", " << format_bytes(static_cast<std::uint64_t>(static_cast<double>(sent) / seconds))
            << "/s";
    out << ", verified by the receiver";
    const json placed = event.value("placed", json::array());
    if (!placed.empty() && placed != event.value("names", json::array()))
        out << "\n  arrived as: " << joined_names(placed);
    return out.str();
}

std::string short_id(const json& doc) {
    const std::string id = doc.value("transfer_id", "");
    return id.size() > kShortIdDigits ? id.substr(0, kShortIdDigits) : id;
}

std::string transfer_label(const json& doc) {
    const std::string shared = short_id(doc);
    return "#" + std::to_string(doc.value("id", 0)) + (shared.empty() ? "" : " (" + shared + ")");
}

std::string render_waiting_for_answer(const std::string& peer) {
    return "waiting for " + peer + " to answer (no answer yet; retrying)";
}

std::string render_transfer(const json& t) {
    std::ostringstream out;
    const bool in = t.value("direction", "") == "in";
    out << transfer_label(t) << "  " << (in ? "from " : "to ") << t.value("peer", "?");
    if (t.contains("name")) out << " (" << sanitize_for_terminal(t.value("name", "")) << ")";
    out << "  " << t.value("state", "?");
    if (t.contains("detail")) out << " (" << sanitize_for_terminal(t.value("detail", "")) << ")";
    out << "  " << joined_names(t.value("names", json::array())) << "  " << t.value("files_done", 0)
        << "/" << count_of(t.value("files", std::uint64_t{0}), "file", "files") << ", "
        << format_bytes(t.value("bytes_done", std::uint64_t{0})) << " / "
        << format_bytes(t.value("bytes", std::uint64_t{0}));
    if (t.contains("placed")) out << "  placed: " << joined_names(t["placed"]);
    if (t.contains("reason")) out << "  (" << sanitize_for_terminal(t.value("reason", "")) << ")";
    if (in && t.value("state", "") == "offered") {
        out << "\n    chatcli accept " << t.value("id", 0) << "   or   chatcli reject "
            << t.value("id", 0);
    }
    return out.str();
}

std::string render_offer(const json& o) {
    std::ostringstream out;
    out << "offer " << transfer_label(o) << " from " << o.value("from", "?");
    if (!o.value("name", "").empty())
        out << " (" << sanitize_for_terminal(o.value("name", "")) << ")";
    out << ": " << joined_names(o.value("names", json::array())) << ", "
        << count_of(o.value("files", std::uint64_t{0}), "file", "files") << ", "
        << format_bytes(o.value("bytes", std::uint64_t{0})) << "\n    chatcli accept "
        << o.value("id", 0) << "   or   chatcli reject " << o.value("id", 0);
    return out.str();
}

}  // namespace chat::cli

namespace chat::cli {

TransferEvent transfer_event_kind(const json& event) {
    static constexpr std::pair<std::string_view, TransferEvent> kNames[] = {
        {"offered", TransferEvent::offered},   {"unanswered", TransferEvent::unanswered},
        {"waiting", TransferEvent::waiting},   {"accepted", TransferEvent::accepted},
        {"progress", TransferEvent::progress}, {"file", TransferEvent::file},
        {"done", TransferEvent::done},
    };
    const std::string name = event.value("event", "");
    for (const auto& [text, kind] : kNames)
        if (name == text) return kind;
    return TransferEvent::other;
}

std::string render_transfer_event(const json& event) {
    switch (transfer_event_kind(event)) {
        case TransferEvent::offered:
            return (event.value("resumed", false) ? "resuming transfer " : "offered transfer ") +
                   transfer_label(event) + " to " + event.value("to", "") + ": " +
                   count_of(event.value("files", std::uint64_t{0}), "file", "files") + ", " +
                   format_bytes(event.value("bytes", std::uint64_t{0}));
        case TransferEvent::waiting:
            return "waiting for the peer to accept";
        case TransferEvent::accepted:
            return "accepted; sending";
        case TransferEvent::done:
            return render_done(event);
        default:
            return "";
    }
}

std::string render_unanswered(const json& event, bool with_time) {
    std::string line = render_waiting_for_answer(event.value("peer", ""));
    if (with_time) line += " " + render_duration(event.value("seconds", std::int64_t{0}));
    return line;
}

std::string render_transfer_reply(const json& reply) {
    return reply.value("state", "") == "offered" ? "follow it with: chatcli transfers" : "";
}

std::string render_sent(const json& reply) {
    const std::string state = reply.value("state", "");
    const std::string to = reply.value("to", "");
    if (const auto ids = reply.find("ids"); ids != reply.end()) {
        return state + " " + std::to_string(ids->size()) +
               (ids->size() == 1 ? " message " : " messages ") +
               (state == "queued" ? "for " : "to ") + to + "\n";
    }
    if (state == "delivered") return "delivered to " + to + "\n";
    if (state == "queued") return "queued for " + to + " (id " + reply.value("id", "") + ")\n";
    if (state == "sent")
        return "sent to " + to + " as plain text (plain peers do not acknowledge)\n";
    return "";
}

std::string render_accepted(const json& reply) {
    return "accepted transfer #" + std::to_string(reply.value("id", 0)) + " into " +
           reply.value("to", "") + "\n";
}

std::string render_decided(const json& reply) {
    return reply.value("state", "") + " transfer #" + std::to_string(reply.value("id", 0)) + "\n";
}

std::string render_error(const json& reply, std::string_view fallback) {
    // The daemon names times in UTC (RFC 3339); people read them local.
    // An empty error says no more than a missing one: never a bare "chatcli: ".
    const auto error = reply.is_object() ? reply.find("error") : reply.end();
    const bool said =
        error != reply.end() && error->is_string() && !error->get_ref<const std::string&>().empty();
    return "chatcli: " + sanitize_for_terminal(localize_times(said ? error->get<std::string>()
                                                                   : std::string(fallback)));
}

std::string render_notice(std::string_view text) {
    return "chatcli: " + sanitize_for_terminal(text);
}

std::string render_failure(std::string_view text) { return "chatcli: " + std::string(text); }

std::string render_said(Said what) {
    switch (what) {
        case Said::unexpected_reply:
            return "chatcli: unexpected reply from chatd";
        case Said::connection_closed:
            return "chatcli: chatd closed the connection";
        case Said::closed_unanswered:
            return "chatcli: chatd closed the connection without an answer";
        case Said::nothing_to_send:
            return "chatcli: nothing to send: every path was skipped (see above)";
        case Said::stopped_answering:
            return "chatcli: chatd stopped answering; when it is back, run the same `chatcli "
                   "transfer` again to resume";
        case Said::empty_message:
            return "chatcli: empty message; nothing was sent";
        case Said::text_not_utf8:
            return "chatcli: the text is not valid UTF-8; nothing was sent";
    }
    return "";
}

std::string render_no_transfer(std::string_view ref) {
    return "chatcli: no transfer " + sanitize_for_terminal(ref);
}

std::string render_cannot_pass_files(std::string_view why) {
    return "chatcli: cannot pass the files to chatd: " + std::string(why);
}

std::string render_too_large(std::size_t bytes) {
    return "chatcli: the message is " + std::to_string(bytes) +
           " bytes, more than fits in one datagram; nothing was sent";
}

std::string render_stopped_at_lines(std::size_t first, std::size_t last) {
    return "chatcli: stopped at lines " + std::to_string(first) + "-" + std::to_string(last) +
           "; the lines before them were sent";
}

std::string render_line_not_utf8(std::size_t line) {
    return "chatcli: line " + std::to_string(line) +
           " is not valid UTF-8; it and the lines after it were not sent";
}

std::string render_chat_banner(std::string_view peer) {
    return "chatting with " + std::string(peer) + "; Ctrl-D or /quit leaves";
}

std::string render_chat_typed(std::int64_t now_ms, std::string_view text) {
    return "[" + local_time(now_ms) + "] you: " + sanitize_for_terminal(text);
}

std::string render_chat_delivered(std::string_view text) {
    return "  delivered: " + sanitize_for_terminal(text);
}

std::string render_chat_not_delivered(std::string_view text, const json& reply) {
    const std::string why =
        reply.is_object() ? reply.value("error", "no reply") : "chatd closed the connection";
    return "  NOT delivered yet: " + sanitize_for_terminal(text) + " (" +
           sanitize_for_terminal(localize_times(why)) + ")";
}

std::string render_chat_unacknowledged(std::size_t messages) {
    return std::to_string(messages) +
           " message(s) not acknowledged yet; they stay in chatd's outbox";
}

std::string render_id(const json& id) {
    return sanitize_for_terminal(id.value("name", "")) + "  " +
           sanitize_for_terminal(id.value("fingerprint", "?")) + "\n";
}

std::string render_verify(const json& reply, std::string_view shown) {
    const std::string peer = sanitize_for_terminal(shown);
    std::string digits = sanitize_for_terminal(reply.value("safety_number", ""));
    // Six groups a row: 5 digits and a space each.
    if (digits.size() > 36) digits.replace(35, 1, "\n    ");
    // The two fingerprints one above the other, to compare at a glance.
    const std::string ours = "your fingerprint:", theirs = peer + "'s fingerprint:";
    const std::size_t width = std::max(ours.size(), theirs.size()) + 1;
    const auto row = [&](const std::string& label, const char* key) {
        return label + std::string(width - label.size(), ' ') +
               sanitize_for_terminal(reply.value(key, "?")) + "\n";
    };
    std::string out = row(ours, "fingerprint") + row(theirs, "peer_fingerprint");
    if (reply.contains("pinned_fingerprint")) {
        out += "  (the key " + peer + " offers now; the one pinned before was " +
               sanitize_for_terminal(reply.value("pinned_fingerprint", "")) + ")\n";
    }
    return out + "safety number:\n    " + digits +
           "\nshort code: " + sanitize_for_terminal(reply.value("short_code", "")) + "\n";
}

std::string render_verify_question(std::string_view shown) {
    return "Does " + sanitize_for_terminal(shown) + " show the same number? [y/N] ";
}

std::string render_verified(const json& reply) {
    return sanitize_for_terminal(reply.value("peer", "?")) +
           " is verified: " + sanitize_for_terminal(reply.value("peer_fingerprint", "?")) + "\n";
}

std::string render_not_verified(std::string_view shown) {
    return "chatcli: not confirmed: " + sanitize_for_terminal(shown) +
           " is not verified, nothing changed (chatcli verify --yes confirms without asking)";
}

std::string render_verify_not_asked(std::string_view shown) {
    const std::string peer = sanitize_for_terminal(shown);
    return "chatcli: not asked (stdin is no terminal): " + peer +
           " is not verified, nothing changed; once the numbers match, run chatcli verify " + peer +
           " on a terminal, or chatcli verify --yes " + peer;
}

std::string render_trusted(const json& reply) {
    return "pinned " + sanitize_for_terminal(reply.value("fingerprint", "?")) + " for " +
           sanitize_for_terminal(reply.value("peer", "?")) +
           ", verified; messages held for it are sent now\n";
}

}  // namespace chat::cli
