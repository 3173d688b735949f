#include "envelope.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "text.hpp"

namespace chat {
namespace {

using nlohmann::json;

DecodedDatagram malformed(std::string why) {
    DecodedDatagram d;
    d.kind = DatagramKind::malformed;
    d.error = std::move(why);
    return d;
}

const std::string* string_field(const json& object, const char* key) {
    const auto it = object.find(key);
    return (it != object.end() && it->is_string()) ? it->get_ptr<const std::string*>() : nullptr;
}

std::optional<std::string> valid_name(const json& doc) {
    const std::string* name = string_field(doc, "name");
    if (!name) return std::string();
    if (name->size() > kMaxNameBytes || !is_valid_utf8(*name)) return std::nullopt;
    return *name;
}

DecodedDatagram decode_offer(const json& doc, DecodedDatagram d) {
    const auto count = [&](const char* key) -> std::optional<std::uint64_t> {
        const auto it = doc.find(key);
        if (it == doc.end() || !it->is_number_unsigned()) return std::nullopt;
        return it->get<std::uint64_t>();
    };
    const auto files = count("files"), bytes = count("bytes"), entries = count("entries");
    if (!files || !bytes || !entries) return malformed("offer without files, bytes and entries");
    const auto names = doc.find("names");
    if (names == doc.end() || !names->is_array() || names->size() > kMaxOfferNames) {
        return malformed("offer without a list of names");
    }
    for (const auto& n : *names) {
        if (!n.is_string() || !is_valid_utf8(n.get_ref<const std::string&>())) {
            return malformed("offer with a bad name");
        }
        d.offer.names.push_back(n.get<std::string>());
    }
    auto name = valid_name(doc);
    if (!name) return malformed("invalid \"name\"");
    d.kind = DatagramKind::offer;
    d.name = std::move(*name);
    d.offer.files = *files;
    d.offer.bytes = *bytes;
    d.offer.entries = *entries;
    if (const auto run = doc.find("run"); run != doc.end()) {
        if (!run->is_number_unsigned() || run->get<std::uint64_t>() == 0)
            return malformed("offer with a bad run");
        d.offer.run = run->get<std::uint64_t>();
    }
    return d;
}

DecodedDatagram decode_answer(const json& doc, DecodedDatagram d) {
    const std::string* state = string_field(doc, "state");
    if (!state) return malformed("answer without a state");
    d.answer.state = *state;
    if (*state == "accepted") {
        const std::string* token = string_field(doc, "token");
        const auto port = doc.find("port");
        if (!token || !is_valid_message_id(*token))
            return malformed("accepted answer without a token");
        if (port == doc.end() || !port->is_number_unsigned() || port->get<std::uint64_t>() == 0 ||
            port->get<std::uint64_t>() > 65535) {
            return malformed("accepted answer without a port");
        }
        d.answer.token = *token;
        d.answer.port = port->get<std::uint16_t>();
        const auto line = doc.find("manifest_line");
        d.answer.manifest_line = line != doc.end() && line->is_boolean() && line->get<bool>();
    } else if (*state == "rejected") {
        const std::string* reason = string_field(doc, "reason");
        if (reason && is_valid_utf8(*reason)) d.answer.reason = reason->substr(0, 512);
    } else if (*state == "done") {
        const auto placed = doc.find("placed");
        if (placed != doc.end()) {
            if (!placed->is_array() || placed->size() > kMaxOfferNames)
                return malformed("done answer with a bad list of names");
            for (const auto& n : *placed) {
                if (!n.is_string() || !is_valid_utf8(n.get_ref<const std::string&>()))
                    return malformed("done answer with a bad name");
                d.answer.placed.push_back(n.get<std::string>());
            }
        }
    } else if (*state != "pending") {
        return malformed("answer with unknown state \"" + *state + "\"");
    }
    d.kind = DatagramKind::answer;
    return d;
}

}  // namespace

DecodedDatagram detail::decode_envelope_generic(std::string_view bytes) {
    if (json_nesting_exceeds(bytes, kMaxJsonDepth)) return malformed("JSON nested too deeply");
    const json doc = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return malformed("invalid JSON");
    if (!doc.is_object()) return malformed("JSON that is not an envelope");
    const auto version = doc.find("chatd");
    if (version == doc.end()) return malformed("JSON object without a \"chatd\" version");
    if (!version->is_number_integer()) return malformed("version is not an integer");
    if (version->get<long long>() != kWireVersion) {
        return malformed("unknown version " + std::to_string(version->get<long long>()));
    }
    const std::string* type = string_field(doc, "type");
    const std::string* id = string_field(doc, "id");
    if (!type) return malformed("missing \"type\"");
    if (!id || !is_valid_message_id(*id)) return malformed("missing or invalid \"id\"");

    DecodedDatagram d;
    d.id = *id;
    if (*type == "ack") {
        d.kind = DatagramKind::ack;
        return d;
    }
    if (*type == "offer") return decode_offer(doc, std::move(d));
    if (*type == "answer") return decode_answer(doc, std::move(d));
    if (*type == "cancel") {
        const std::string* reason = string_field(doc, "reason");
        if (reason && is_valid_utf8(*reason)) d.text = reason->substr(0, 512);
        d.kind = DatagramKind::cancel;
        return d;
    }
    if (*type != "msg") return malformed("unknown type \"" + *type + "\"");
    const std::string* text = string_field(doc, "text");
    if (!text || text->empty()) return malformed("message without text");
    if (!is_valid_utf8(*text)) return malformed("text is not valid UTF-8");
    auto name = valid_name(doc);
    if (!name) return malformed("invalid \"name\"");
    d.name = std::move(*name);
    if (const auto seq = doc.find("seq"); seq != doc.end()) {
        const std::string* stream = string_field(doc, "stream");
        const auto floor = doc.find("floor");
        if (!seq->is_number_unsigned() || seq->get<std::uint64_t>() == 0)
            return malformed("message with a bad \"seq\"");
        if (!stream || !is_valid_message_id(*stream))
            return malformed("message with a seq but no valid \"stream\"");
        if (floor == doc.end() || !floor->is_number_unsigned() ||
            floor->get<std::uint64_t>() == 0 ||
            floor->get<std::uint64_t>() > seq->get<std::uint64_t>())
            return malformed("message with a seq but no valid \"floor\"");
        d.order = {*stream, seq->get<std::uint64_t>(), floor->get<std::uint64_t>()};
    }
    d.kind = DatagramKind::message;
    d.text = *text;
    return d;
}

namespace {

// Reads the exact layout encode_message and encode_ack write, and nothing
// else: a datagram from another chatd is decoded without building a json
// document (that was most of the receiver thread's time). Anything it does
// not recognise, or that would not pass the checks, goes to the generic
// parser, which also says why a bad one is bad; the fuzzer checks that
// both agree.
class OwnLayout {
public:
    explicit OwnLayout(std::string_view text) : text_(text) {}

    std::optional<DecodedDatagram> decode() {
        DecodedDatagram d;
        if (!literal(R"({"chatd":2,"type":")")) return std::nullopt;
        if (literal(R"(ack","id":)")) {
            if (!string(d.id) || !literal("}") || !at_end() || !is_valid_message_id(d.id))
                return std::nullopt;
            d.kind = DatagramKind::ack;
            return d;
        }
        if (!literal(R"(msg","id":)") || !string(d.id) || !literal(R"(,"text":)") ||
            !string(d.text))
            return std::nullopt;
        if (literal(R"(,"name":)") && !string(d.name)) return std::nullopt;
        if (literal(R"(,"stream":)")) {
            if (!string(d.order.stream) || !literal(R"(,"seq":)") || !number(d.order.seq) ||
                !literal(R"(,"floor":)") || !number(d.order.floor))
                return std::nullopt;
            if (d.order.seq == 0 || d.order.floor == 0 || d.order.floor > d.order.seq ||
                !is_valid_message_id(d.order.stream))
                return std::nullopt;
        }
        if (!literal("}") || !at_end()) return std::nullopt;
        if (!is_valid_message_id(d.id) || d.text.empty() || !is_valid_utf8(d.text) ||
            d.name.size() > kMaxNameBytes || !is_valid_utf8(d.name))
            return std::nullopt;
        d.kind = DatagramKind::message;
        return d;
    }

private:
    bool literal(std::string_view expected) {
        if (text_.substr(at_, expected.size()) != expected) return false;
        at_ += expected.size();
        return true;
    }
    bool at_end() const { return at_ == text_.size(); }

    bool string(std::string& out) { return read_json_string(text_, at_, out); }

    // An unsigned integer without sign, leading zero, fraction or exponent,
    // small enough not to overflow.
    bool number(std::uint64_t& value) {
        const std::size_t start = at_;
        value = 0;
        while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') {
            if (at_ - start == 18) return false;
            value = value * 10 + static_cast<std::uint64_t>(text_[at_] - '0');
            ++at_;
        }
        if (at_ == start || (text_[start] == '0' && at_ - start > 1)) return false;
        return at_ == text_.size() || (text_[at_] != '.' && text_[at_] != 'e' && text_[at_] != 'E');
    }

    std::string_view text_;
    std::size_t at_ = 0;
};

DecodedDatagram decode_envelope(std::string_view bytes) {
    if (auto own = OwnLayout(bytes).decode()) return std::move(*own);
    return detail::decode_envelope_generic(bytes);
}

}  // namespace

DecodedDatagram decode_datagram(std::string_view bytes) {
    if (bytes.empty()) return malformed("empty datagram");
    if (!is_valid_utf8(bytes)) return malformed("not valid UTF-8");
    // Anything that opens like a JSON object must be an envelope; a plain
    // line is never shown as half-parsed JSON.
    const std::string_view trimmed = trim(bytes);
    if (trimmed.starts_with('{')) return decode_envelope(trimmed);
    if (trimmed.starts_with('[') && trimmed.ends_with(']')) {
        if (json_nesting_exceeds(trimmed, kMaxJsonDepth))
            return malformed("JSON nested too deeply");
        if (json::accept(trimmed)) return malformed("JSON that is not an envelope");
    }

    std::string_view text = bytes;
    if (text.ends_with('\n')) text.remove_suffix(1);
    if (text.ends_with('\r')) text.remove_suffix(1);
    if (trim(text).empty()) return malformed("blank plain datagram");
    DecodedDatagram d;
    d.kind = DatagramKind::plain;
    d.text = std::string(text);
    return d;
}

std::vector<DecodedDatagram> decode_datagrams(std::string_view bytes) {
    const std::string_view trimmed = trim(bytes);
    if (!trimmed.starts_with('{') || trimmed.find('\n') == std::string_view::npos ||
        !is_valid_utf8(bytes)) {
        return {decode_datagram(bytes)};
    }
    std::vector<std::string_view> lines;
    for (std::size_t start = 0; start <= trimmed.size();) {
        std::size_t end = trimmed.find('\n', start);
        if (end == std::string_view::npos) end = trimmed.size();
        const std::string_view line = trim(trimmed.substr(start, end - start));
        if (!line.empty()) lines.push_back(line);
        if (lines.size() > kMaxBundled) {
            return {
                malformed("a bundle of more than " + std::to_string(kMaxBundled) + " envelopes")};
        }
        start = end + 1;
    }
    std::vector<DecodedDatagram> decoded;
    decoded.reserve(lines.size());
    for (const std::string_view line : lines) {
        decoded.push_back(line.starts_with('{') ? decode_envelope(line)
                                                : malformed("a bundle line that is not JSON"));
    }
    return decoded;
}

std::vector<std::string> bundle_envelopes(const std::vector<std::string>& envelopes,
                                          std::size_t budget) {
    std::vector<std::string> datagrams;
    std::size_t in_last = 0;
    for (const std::string& envelope : envelopes) {
        if (!datagrams.empty() && in_last < kMaxBundled &&
            datagrams.back().size() + 1 + envelope.size() <= budget) {
            datagrams.back() += '\n';
            datagrams.back() += envelope;
            ++in_last;
        } else {
            datagrams.push_back(envelope);
            in_last = 1;
        }
    }
    return datagrams;
}

std::string encode_message(std::string_view id, std::string_view text, std::string_view name,
                           const MessageOrderStamp& order) {
    // Written directly, not through a json document: this runs once per
    // message sent, and the document's allocations were most of its cost.
    std::string out;
    out.reserve(text.size() + name.size() + 160);
    out += R"({"chatd":)" + std::to_string(kWireVersion) + R"(,"type":"msg","id":)";
    append_json_string(out, id);
    out += R"(,"text":)";
    append_json_string(out, text);
    if (!name.empty()) {
        out += R"(,"name":)";
        append_json_string(out, name);
    }
    if (order.seq > 0) {
        out += R"(,"stream":)";
        append_json_string(out, order.stream);
        out += R"(,"seq":)" + std::to_string(order.seq);
        out += R"(,"floor":)" + std::to_string(order.floor);
    }
    out += '}';
    return out;
}

std::string encode_ack(std::string_view id) {
    std::string out = R"({"chatd":)" + std::to_string(kWireVersion) + R"(,"type":"ack","id":)";
    append_json_string(out, id);
    out += '}';
    return out;
}

std::string encode_offer(std::string_view id, const TransferOffer& offer, std::string_view name) {
    json doc = {{"chatd", kWireVersion},  {"type", "offer"},      {"id", id},
                {"files", offer.files},   {"bytes", offer.bytes}, {"entries", offer.entries},
                {"names", json::array()}, {"run", offer.run}};
    for (std::size_t i = 0; i < offer.names.size() && i < kMaxOfferNames; ++i) {
        doc["names"].push_back(offer.names[i]);
    }
    if (!name.empty()) doc["name"] = name;
    return doc.dump();
}

std::string encode_answer(std::string_view id, const TransferAnswer& answer) {
    json doc = {{"chatd", kWireVersion}, {"type", "answer"}, {"id", id}, {"state", answer.state}};
    if (answer.state == "accepted") {
        doc["token"] = answer.token;
        doc["port"] = answer.port;
        if (answer.manifest_line) doc["manifest_line"] = true;
    }
    if (answer.state == "rejected") doc["reason"] = answer.reason;
    if (answer.state == "done") {
        doc["placed"] = json::array();
        for (std::size_t i = 0; i < answer.placed.size() && i < kMaxOfferNames; ++i) {
            doc["placed"].push_back(answer.placed[i]);
        }
    }
    return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string encode_cancel(std::string_view id, std::string_view reason) {
    return json{{"chatd", kWireVersion}, {"type", "cancel"}, {"id", id}, {"reason", reason}}.dump(
        -1, ' ', false, json::error_handler_t::replace);
}

std::string encode_plain(std::string_view text) {
    std::string out(text);
    out += '\n';
    return out;
}

bool is_valid_message_id(std::string_view id) {
    if (id.size() < 16 || id.size() > 64) return false;
    for (const char c : id) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

std::optional<std::int64_t> message_id_clock_ms(std::string_view id, std::int64_t received_ms) {
    constexpr std::int64_t kDayMs = 86'400'000;
    if (id.size() != 32 || !is_valid_message_id(id)) return std::nullopt;
    std::int64_t clock = 0;
    for (const char c : id.substr(0, 12)) clock = clock * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
    if (clock > received_ms + kDayMs || clock < received_ms - 366 * kDayMs) return std::nullopt;
    return clock;
}

bool json_nesting_exceeds(std::string_view bytes, int max_depth) {
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const char c = bytes[i];
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max_depth) return true;
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
    return false;
}

}  // namespace chat
