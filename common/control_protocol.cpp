#include "control_protocol.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>
#include <ctime>

#include "enum_names.hpp"
#include "flat_json.hpp"
#include "text.hpp"

namespace chat {
namespace {

using nlohmann::json;

template <class T>
T field(const json& doc, const char* key, T fallback) {
    const auto it = doc.find(key);
    if (it == doc.end()) return fallback;
    try {
        return it->get<T>();
    } catch (const json::exception&) {
        throw ProtocolError(std::string("field '") + key + "' has the wrong type");
    }
}

// Moved out of the request: a text or a manifest can be megabytes.
std::string required_string(json& doc, const char* key) {
    const auto it = doc.find(key);
    if (it == doc.end() || !it->is_string()) {
        throw ProtocolError(std::string("missing string field '") + key + "'");
    }
    return std::move(it->get_ref<std::string&>());
}

std::size_t limit_field(const json& doc) {
    const auto limit = field<std::int64_t>(doc, "limit", 100);
    if (limit < 0 || limit > 1'000'000) throw ProtocolError("field 'limit' must be 0 to 1000000");
    return static_cast<std::size_t>(limit);
}

}  // namespace

std::string encode_request(const Request& request) {
    // A transfer's manifest is megabytes: the line after the request, as it
    // is (encode_manifest writes one line).
    if (const auto* t = std::get_if<TransferRequest>(&request)) {
        if (!is_valid_utf8(t->peer) ||
            std::memchr(t->manifest.data(), '\n', t->manifest.size()) != nullptr) {
            return encode_transfer_request_with_manifest_field(*t);
        }
        std::string line = R"({"cmd":"transfer","fds":)" + std::to_string(t->fds) +
                           R"(,"manifest_follows":true,"peer":)";
        append_json_string(line, t->peer);
        line += R"(,"wait":)";
        line += t->wait ? "true}\n" : "false}\n";
        line.reserve(line.size() + t->manifest.size() + 1);
        line += t->manifest;
        return line + '\n';
    }
    json doc = std::visit(
        [](const auto& r) -> json {
            using T = std::decay_t<decltype(r)>;
            if constexpr (std::is_same_v<T, SendRequest>) {
                json doc = {{"cmd", "send"},
                            {"peer", r.peer},
                            {"plain", r.plain},
                            {"wait", r.wait},
                            {"timeout", r.timeout_seconds}};
                if (r.texts.empty()) {
                    doc["text"] = r.text;
                } else {
                    doc["texts"] = r.texts;
                }
                return doc;
            } else if constexpr (std::is_same_v<T, InboxRequest>) {
                return {
                    {"cmd", "inbox"}, {"limit", r.limit}, {"follow", r.follow}, {"peer", r.peer}};
            } else if constexpr (std::is_same_v<T, HistoryRequest>) {
                return {{"cmd", "history"}, {"peer", r.peer}, {"limit", r.limit}};
            } else if constexpr (std::is_same_v<T, StatusRequest>) {
                return {{"cmd", "status"}};
            } else if constexpr (std::is_same_v<T, PeersRequest>) {
                return {{"cmd", "peers"}};
            } else if constexpr (std::is_same_v<T, IdRequest>) {
                return {{"cmd", "id"}};
            } else if constexpr (std::is_same_v<T, TransferRequest>) {
                return nullptr;  // written above
            } else if constexpr (std::is_same_v<T, TransfersRequest>) {
                return {{"cmd", "transfers"}, {"watch", r.watch}};
            } else if constexpr (std::is_same_v<T, VerifyRequest>) {
                json doc = {{"cmd", "verify"}, {"peer", r.peer}, {"confirm", r.confirm}};
                if (!r.safety_number.empty()) doc["safety_number"] = r.safety_number;
                return doc;
            } else if constexpr (std::is_same_v<T, TrustRequest>) {
                return {{"cmd", "trust"}, {"peer", r.peer}, {"fingerprint", r.fingerprint}};
            } else if constexpr (std::is_same_v<T, StallRequest>) {
                return {{"cmd", "stall"}, {"loop", r.loop}, {"seconds", r.seconds}};
            } else {
                const std::string cmd(to_string(r.action));
                if (!r.id_prefix.empty()) return {{"cmd", cmd}, {"id", r.id_prefix}, {"to", r.to}};
                return {{"cmd", cmd}, {"id", r.id}, {"to", r.to}};
            }
        },
        request);
    // Replace, not throw: the daemon checks the text itself and says why.
    return reply_line(doc);
}

std::string encode_transfer_request_with_manifest_field(const TransferRequest& t) {
    if (!is_valid_utf8(t.peer) || !is_valid_utf8(t.manifest)) {
        return reply_line(json{{"cmd", "transfer"},
                               {"peer", t.peer},
                               {"manifest", t.manifest},
                               {"fds", t.fds},
                               {"wait", t.wait}});
    }
    std::string line = R"({"cmd":"transfer","fds":)" + std::to_string(t.fds) + R"(,"manifest":)";
    line.reserve(line.size() + t.manifest.size() + t.manifest.size() / 8 + 64);
    append_json_string(line, t.manifest);
    line += R"(,"peer":)";
    append_json_string(line, t.peer);
    return line + R"(,"wait":)" + (t.wait ? "true" : "false") + "}\n";
}

bool read_transfer_ref(std::string_view text, std::uint64_t& number, std::string& id_prefix) {
    number = 0;
    id_prefix.clear();
    if (text.empty() || text.size() > 32) return false;
    bool decimal = true;
    for (const char c : text) {
        const bool digit = c >= '0' && c <= '9';
        const bool hex = digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!hex) return false;
        decimal = decimal && digit;
    }
    if (decimal && text.size() <= 18) {
        for (const char c : text) number = number * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (text.size() >= kMinIdPrefixDigits) {
        for (const char c : text)
            id_prefix += static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    return number != 0 || !id_prefix.empty();
}

namespace {

// One decoder per command: the request's fields, checked in this order (the
// first problem found is the error the client sees).
SendRequest decode_send(json& doc) {
    SendRequest r;
    r.peer = required_string(doc, "peer");
    if (const auto texts = doc.find("texts"); texts != doc.end()) {
        if (doc.contains("text")) throw ProtocolError("give 'text' or 'texts', not both");
        if (!texts->is_array() || texts->empty() || texts->size() > kMaxSendBatch) {
            throw ProtocolError("field 'texts' must be an array of 1 to " +
                                std::to_string(kMaxSendBatch) + " strings");
        }
        r.texts.reserve(texts->size());
        for (auto& text : *texts) {
            if (!text.is_string()) throw ProtocolError("field 'texts' must hold only strings");
            r.texts.push_back(std::move(text.get_ref<std::string&>()));
        }
    } else {
        r.text = required_string(doc, "text");
    }
    r.plain = field(doc, "plain", false);
    r.wait = field(doc, "wait", true);
    r.timeout_seconds = field(doc, "timeout", 10.0);
    if (!(r.timeout_seconds > 0 && r.timeout_seconds <= 86400)) {
        throw ProtocolError("field 'timeout' must be more than 0 and at most 86400 seconds");
    }
    return r;
}

InboxRequest decode_inbox(json& doc) {
    InboxRequest r;
    r.limit = limit_field(doc);
    r.follow = field(doc, "follow", false);
    r.peer = field<std::string>(doc, "peer", "");
    return r;
}

HistoryRequest decode_history(json& doc) {
    HistoryRequest r;
    r.peer = field<std::string>(doc, "peer", "");
    r.limit = limit_field(doc);
    return r;
}

TransferRequest decode_transfer(json& doc) {
    TransferRequest r;
    r.peer = required_string(doc, "peer");
    r.manifest_follows = field(doc, "manifest_follows", false);
    if (!r.manifest_follows) r.manifest = required_string(doc, "manifest");
    const auto fds = field<std::int64_t>(doc, "fds", 0);
    if (fds < 0 || fds > 10'000'000) throw ProtocolError("field 'fds' is out of range");
    r.fds = static_cast<std::size_t>(fds);
    r.wait = field(doc, "wait", true);
    return r;
}

StallRequest decode_stall(json& doc) {
    StallRequest r{required_string(doc, "loop"), field(doc, "seconds", 1.0)};
    if (r.loop != "receiver" && r.loop != "sender" && r.loop != "store" && r.loop != "control")
        throw ProtocolError("field 'loop' must be receiver, sender, store or control");
    if (!(r.seconds > 0 && r.seconds <= 60))
        throw ProtocolError("field 'seconds' must be more than 0 and at most 60");
    return r;
}

DecideRequest decode_decide(json& doc, DecideAction action) {
    DecideRequest r;
    r.action = action;
    if (const auto it = doc.find("id"); it != doc.end() && it->is_string()) {
        if (!read_transfer_ref(it->get_ref<const std::string&>(), r.id, r.id_prefix))
            throw ProtocolError(
                "field 'id' must be a transfer's number or at least 6 hex digits of its id");
    } else {
        const auto id = field<std::int64_t>(doc, "id", 0);
        if (id <= 0) throw ProtocolError("field 'id' must be a transfer number");
        r.id = static_cast<std::uint64_t>(id);
    }
    r.to = field<std::string>(doc, "to", "");
    return r;
}

struct RequestDecoder {
    std::string_view cmd;
    Request (*decode)(json& doc);
};

// The table from "cmd" to its decoder.
constexpr RequestDecoder kRequestDecoders[] = {
    {"send", [](json& doc) -> Request { return decode_send(doc); }},
    {"inbox", [](json& doc) -> Request { return decode_inbox(doc); }},
    {"history", [](json& doc) -> Request { return decode_history(doc); }},
    {"status", [](json&) -> Request { return StatusRequest{}; }},
    {"peers", [](json&) -> Request { return PeersRequest{}; }},
    {"id", [](json&) -> Request { return IdRequest{}; }},
    {"transfer", [](json& doc) -> Request { return decode_transfer(doc); }},
    {"transfers",
     [](json& doc) -> Request { return TransfersRequest{field(doc, "watch", false)}; }},
    {"stall", [](json& doc) -> Request { return decode_stall(doc); }},
    {"verify",
     [](json& doc) -> Request {
         auto peer = required_string(doc, "peer");
         return VerifyRequest{std::move(peer), field(doc, "confirm", false),
                              field<std::string>(doc, "safety_number", "")};
     }},
    {"trust",
     [](json& doc) -> Request {
         auto peer = required_string(doc, "peer");
         return TrustRequest{std::move(peer), required_string(doc, "fingerprint")};
     }},
    {"accept", [](json& doc) -> Request { return decode_decide(doc, DecideAction::accept); }},
    {"reject", [](json& doc) -> Request { return decode_decide(doc, DecideAction::reject); }},
    {"cancel", [](json& doc) -> Request { return decode_decide(doc, DecideAction::cancel); }},
};

constexpr std::pair<DecideAction, std::string_view> kDecideActionNames[] = {
    {DecideAction::accept, "accept"},
    {DecideAction::reject, "reject"},
    {DecideAction::cancel, "cancel"},
};

}  // namespace

std::string_view to_string(DecideAction action) { return name_in(kDecideActionNames, action); }

std::optional<DecideAction> decide_action_from_string(std::string_view name) {
    return value_named(kDecideActionNames, name);
}

Request parse_request(std::string_view line) {
    if (line.size() > kMaxRequestBytes) throw ProtocolError("request too large");
    // Not const: long strings (a batch's texts, a manifest) move out of it.
    // chatcli's requests are flat objects (a transfer's is its manifest as
    // one string, a batch's texts an array of strings): read without json's
    // lexer when they are.
    auto flat = read_flat_object(line);
    json doc = flat ? std::move(*flat) : json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) throw ProtocolError("request is not valid JSON");
    if (!doc.is_object()) throw ProtocolError("request must be a JSON object");
    const std::string cmd = required_string(doc, "cmd");
    for (const RequestDecoder& decoder : kRequestDecoders) {
        if (decoder.cmd == cmd) return decoder.decode(doc);
    }
    throw ProtocolError("unknown command '" + cmd + "'");
}

json message_to_json(const MessageView& m) {
    json doc = {
        {"id", m.id},      {"direction", m.direction},      {m.incoming() ? "from" : "to", m.peer},
        {"text", m.text},  {"ts", format_rfc3339(m.ts_ms)}, {"plain", m.plain},
        {"state", m.state}};
    if (!m.name.empty()) doc["name"] = m.name;
    if (m.sent_ms != 0) doc["sent_ts"] = format_rfc3339(m.sent_ms);
    return doc;
}

MessageView message_from_json(const json& doc) {
    MessageView m;
    m.id = doc.value("id", std::int64_t{0});
    m.direction = doc.value("direction", std::string(kMessageIn));
    m.peer = doc.value(m.incoming() ? "from" : "to", std::string());
    m.name = doc.value("name", std::string());
    m.text = doc.value("text", std::string());
    m.ts_ms = parse_rfc3339(doc.value("ts", std::string()));
    m.plain = doc.value("plain", false);
    m.state = doc.value("state", std::string());
    m.sent_ms = parse_rfc3339(doc.value("sent_ts", std::string()));
    return m;
}

std::string reply_line(const json& object) {
    return object.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string error_reply(std::string_view code, std::string_view message) {
    return reply_line({{"ok", false}, {"code", code}, {"error", message}});
}

}  // namespace chat
