#include "render.hpp"

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
    if (m.direction == "in" && m.sent_ms != 0 &&
        (m.ts_ms - m.sent_ms > kLateMs || m.sent_ms - m.ts_ms > kLateMs)) {
        when += ", received " + local_time(m.ts_ms);
    }
    std::string out = "[" + when + "] ";
    if (m.direction == "out") {
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
        << w.value("busy", 0) << " busy, " << w.value("queued", 0) << " jobs queued, "
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
        << "  outbox     " << s.value("outbox", 0) << " awaiting an ack\n"
        << render_workers(s.value("workers", json())) << "  counters  ";
    const json counters = s.value("counters", json::object());
    for (const auto& [key, value] : counters.items()) {
        std::string label = key;
        for (auto& c : label) c = c == '_' ? '-' : c;
        out << " " << label << "=" << value.dump();
    }
    out << "\n";
    return out.str();
}

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
            out << "  last seen " << (seen_ms != 0 ? local_time(seen_ms) : seen) << "  speaks "
                << p.value("speaks", "?") << "\n";
        }
    }
    return out.str();
}

}  // namespace chat::cli

namespace chat::cli {

std::string render_progress(const json& e, std::size_t bar_width) {
    const auto total = e.value("total_bytes", std::uint64_t{0});
    const auto done = e.value("bytes", std::uint64_t{0});
    const double fraction =
        total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
    const auto filled = static_cast<std::size_t>(fraction * static_cast<double>(bar_width));
    std::ostringstream out;
    out << "[" << std::string(filled, '#')
        << std::string(bar_width - std::min(filled, bar_width), '.') << "] "
        << static_cast<int>(fraction * 100) << "%  " << format_bytes(done) << " / "
        << format_bytes(total) << "  " << e.value("files", 0) << "/" << e.value("total_files", 0)
        << " files  " << format_bytes(static_cast<std::uint64_t>(e.value("rate", 0.0))) << "/s";
    if (e.contains("eta"))
        out << "  ETA " << render_duration(static_cast<std::int64_t>(e.value("eta", 0.0)));
    return out.str();
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
    const double seconds = event.value("seconds", 0.0);
    const auto bytes = event.value("bytes", std::uint64_t{0});
    out << "done: " << event.value("files", 0) << " files, " << format_bytes(bytes)
        << ", verified by the receiver, in " << std::fixed << std::setprecision(2) << seconds
        << " s";
    if (seconds > 0)
        out << " ("
            << format_bytes(static_cast<std::uint64_t>(static_cast<double>(bytes) / seconds))
            << "/s)";
    const json placed = event.value("placed", json::array());
    if (!placed.empty() && placed != event.value("names", json::array()))
        out << "\n  arrived as: " << joined_names(placed);
    const auto sent = event.value("sent_bytes", bytes);
    if (sent < bytes)
        out << "\n  resumed: " << format_bytes(bytes - sent) << " were there already, "
            << format_bytes(sent) << " sent";
    return out.str();
}

std::string render_transfer(const json& t) {
    std::ostringstream out;
    const bool in = t.value("direction", "") == "in";
    out << "#" << t.value("id", 0) << "  " << (in ? "from " : "to ") << t.value("peer", "?");
    if (t.contains("name")) out << " (" << sanitize_for_terminal(t.value("name", "")) << ")";
    out << "  " << t.value("state", "?") << "  " << joined_names(t.value("names", json::array()))
        << "  " << t.value("files_done", 0) << "/" << t.value("files", 0) << " files, "
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
    out << "offer #" << o.value("id", 0) << " from " << o.value("from", "?");
    if (!o.value("name", "").empty())
        out << " (" << sanitize_for_terminal(o.value("name", "")) << ")";
    out << ": " << joined_names(o.value("names", json::array())) << ", " << o.value("files", 0)
        << " files, " << format_bytes(o.value("bytes", std::uint64_t{0})) << "\n    chatcli accept "
        << o.value("id", 0) << "   or   chatcli reject " << o.value("id", 0);
    return out.str();
}

}  // namespace chat::cli
