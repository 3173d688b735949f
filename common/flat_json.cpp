#include "flat_json.hpp"

#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "text.hpp"

namespace chat {

using nlohmann::json;

bool read_json_integer(std::string_view text, std::size_t& at, bool& negative,
                       std::uint64_t& magnitude) {
    std::size_t i = at;
    negative = i < text.size() && text[i] == '-';
    if (negative) ++i;
    const std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    const std::size_t digits = i - start;
    if (digits == 0 || digits > 19 || (digits > 1 && text[start] == '0')) return false;
    if (i < text.size() && (text[i] == '.' || text[i] == 'e' || text[i] == 'E')) return false;
    magnitude = 0;
    for (std::size_t k = start; k < i; ++k)
        magnitude = magnitude * 10 + static_cast<std::uint64_t>(text[k] - '0');
    if (negative &&
        magnitude > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return false;
    at = i;
    return true;
}

bool skip_literal(std::string_view text, std::size_t& at, std::string_view literal) {
    if (text.substr(at, literal.size()) != literal) return false;
    at += literal.size();
    return true;
}

bool read_json_count(std::string_view text, std::size_t& at, std::uint64_t& value) {
    bool negative = false;
    return read_json_integer(text, at, negative, value) && !negative;
}

bool read_json_integer(std::string_view text, std::size_t& at, json& value) {
    bool negative = false;
    std::uint64_t magnitude = 0;
    if (!read_json_integer(text, at, negative, magnitude)) return false;
    if (negative) {
        value = -static_cast<std::int64_t>(magnitude);
    } else {
        value = magnitude;
    }
    return true;
}

bool read_flat_members(std::string_view text, std::size_t& at,
                       const std::function<void(std::string& key, json& value)>& member) {
    const auto next_is = [&](char c) {
        if (at >= text.size() || text[at] != c) return false;
        ++at;
        return true;
    };
    const auto word = [&](std::string_view w) {
        if (text.substr(at, w.size()) != w) return false;
        at += w.size();
        return true;
    };
    const auto string = [&](std::string& out) {
        return read_json_string(text, at, out) && is_valid_utf8(out);
    };
    if (!next_is('{')) return false;
    if (next_is('}')) return true;
    do {
        std::string key;
        if (!string(key) || !next_is(':')) return false;
        json value;
        if (at < text.size() && text[at] == '"') {
            std::string s;
            if (!string(s)) return false;
            value = std::move(s);
        } else if (next_is('[')) {
            value = json::array();
            if (!next_is(']')) {
                do {
                    std::string s;
                    if (!string(s)) return false;
                    value.push_back(std::move(s));
                } while (next_is(','));
                if (!next_is(']')) return false;
            }
        } else if (word("true")) {
            value = true;
        } else if (word("false")) {
            value = false;
        } else if (word("null")) {
            value = nullptr;
        } else if (!read_json_integer(text, at, value)) {
            return false;
        }
        member(key, value);
    } while (next_is(','));
    return next_is('}');
}

std::optional<json> read_flat_object(std::string_view text) {
    json object = json::object();
    std::size_t at = 0;
    const bool read = read_flat_members(
        text, at, [&](std::string& key, json& value) { object[key] = std::move(value); });
    if (!read || at != text.size()) return std::nullopt;
    return object;
}

}  // namespace chat
