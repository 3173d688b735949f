#include "manifest.hpp"

#include <nlohmann/json.hpp>
#include <unordered_map>

#include "transfer_paths.hpp"

namespace chat {
namespace {

using nlohmann::json;

constexpr int kManifestVersion = 1;
constexpr std::uint32_t kPermissionBits = 0777;

const char* type_code(EntryType type) {
    switch (type) {
        case EntryType::directory:
            return "d";
        case EntryType::file:
            return "f";
        case EntryType::symlink:
            return "l";
    }
    return "?";
}

std::string parent_of(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? "" : path.substr(0, slash);
}

[[noreturn]] void fail(std::size_t index, const std::string& path, const std::string& why) {
    throw ManifestError("manifest entry " + std::to_string(index) +
                        (path.empty() ? "" : " ('" + path + "')") + ": " + why);
}

}  // namespace

std::uint64_t Manifest::total_bytes() const {
    std::uint64_t total = 0;
    for (const auto& e : entries) total += e.type == EntryType::file ? e.size : 0;
    return total;
}

std::size_t Manifest::file_count() const {
    std::size_t count = 0;
    for (const auto& e : entries) count += e.type == EntryType::file ? 1 : 0;
    return count;
}

std::vector<std::string> Manifest::top_level_names() const {
    std::vector<std::string> names;
    for (const auto& e : entries) {
        if (e.path.find('/') == std::string::npos) names.push_back(e.path);
    }
    return names;
}

std::string encode_manifest(const Manifest& manifest) {
    json entries = json::array();
    for (const auto& e : manifest.entries) {
        json entry = {{"t", type_code(e.type)}, {"p", e.path}, {"mt", e.mtime_ns}};
        if (e.type == EntryType::file) entry["s"] = e.size;
        if (e.type != EntryType::symlink) entry["m"] = e.mode & kPermissionBits;
        if (e.type == EntryType::symlink) entry["l"] = e.link_target;
        entries.push_back(std::move(entry));
    }
    return json{{"version", kManifestVersion}, {"entries", std::move(entries)}}.dump();
}

Manifest decode_manifest(std::string_view text) {
    const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object())
        throw ManifestError("manifest is not a JSON object");
    // find(), not value(): value() throws json's own error for a wrong type.
    const auto version = doc.find("version");
    if (version == doc.end() || !version->is_number_integer() ||
        version->get<std::int64_t>() != kManifestVersion)
        throw ManifestError("unknown manifest version");
    const auto list = doc.find("entries");
    if (list == doc.end() || !list->is_array()) throw ManifestError("manifest without entries");
    if (list->size() > kMaxManifestEntries) throw ManifestError("manifest has too many entries");

    Manifest manifest;
    manifest.entries.reserve(list->size());
    std::unordered_map<std::string, EntryType> seen;
    for (std::size_t i = 0; i < list->size(); ++i) {
        const json& item = (*list)[i];
        if (!item.is_object()) fail(i, "", "not an object");
        ManifestEntry e;
        const auto path = item.find("p");
        if (path == item.end() || !path->is_string()) fail(i, "", "missing path");
        e.path = path->get<std::string>();
        if (auto why = check_relative_path(e.path)) fail(i, e.path, *why);

        const auto type_field = item.find("t");
        const std::string type = type_field != item.end() && type_field->is_string()
                                     ? type_field->get<std::string>()
                                     : std::string();
        if (type == "d") {
            e.type = EntryType::directory;
        } else if (type == "f") {
            e.type = EntryType::file;
        } else if (type == "l") {
            e.type = EntryType::symlink;
        } else {
            fail(i, e.path, "unknown type '" + type + "'");
        }
        try {
            e.mtime_ns = item.value("mt", std::int64_t{0});
            // A symlink has no mode of its own on Linux; one a sender lists
            // is dropped, as encode_manifest drops it (found by fuzz_manifest).
            if (e.type != EntryType::symlink)
                e.mode = item.value("m", std::uint32_t{0}) & kPermissionBits;
            if (e.type == EntryType::file) {
                const auto size = item.find("s");
                if (size == item.end() || !size->is_number_unsigned())
                    fail(i, e.path, "missing size");
                e.size = size->get<std::uint64_t>();
                if (e.size > kMaxFileBytes) fail(i, e.path, "size too large");
            }
            if (e.type == EntryType::symlink) {
                e.link_target = item.value("l", "");
                if (auto why = check_link_target(e.path, e.link_target)) fail(i, e.path, *why);
            }
        } catch (const json::exception&) {
            fail(i, e.path, "a field has the wrong type");
        }
        // Parents come first and are directories: nothing is ever written
        // through a file or a symlink.
        const std::string parent = parent_of(e.path);
        if (!parent.empty()) {
            const auto it = seen.find(parent);
            if (it == seen.end()) fail(i, e.path, "parent directory is not listed before it");
            if (it->second != EntryType::directory) fail(i, e.path, "parent is not a directory");
        }
        if (!seen.emplace(e.path, e.type).second) fail(i, e.path, "listed twice");
        manifest.entries.push_back(std::move(e));
    }
    return manifest;
}

}  // namespace chat
