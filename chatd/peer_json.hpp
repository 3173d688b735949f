#pragma once
// Fields of JSON a peer sent: json's value() throws on a wrong type, which
// on the control thread would end the daemon. These never throw.
#include <nlohmann/json.hpp>
#include <string>

namespace chat {

inline std::string string_field(const nlohmann::json& doc, const char* key) {
    const auto it = doc.is_object() ? doc.find(key) : doc.end();
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

inline bool true_field(const nlohmann::json& doc, const char* key) {
    const auto it = doc.is_object() ? doc.find(key) : doc.end();
    return it != doc.end() && it->is_boolean() && it->get<bool>();
}

}  // namespace chat
