#include "manifest.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "flat_json.hpp"
#include "text.hpp"
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

std::string_view parent_of(std::string_view path) {
    const auto slash = path.rfind('/');
    return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
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
    // Written directly, keys in the order json's dump gives them: a tree of
    // 20,000 files was a document of 100,000 nodes built only to be dumped.
    std::string out;
    out.reserve(manifest.entries.size() * 96 + 32);
    out += R"({"entries":[)";
    for (std::size_t i = 0; i < manifest.entries.size(); ++i) {
        const ManifestEntry& e = manifest.entries[i];
        if (!is_valid_utf8(e.path)) fail(i, "", "path is not valid UTF-8");
        out += i == 0 ? "{" : ",{";
        if (e.type == EntryType::symlink) {
            if (!is_valid_utf8(e.link_target)) fail(i, e.path, "link target is not valid UTF-8");
            out += R"("l":)";
            append_json_string(out, e.link_target);
            out += ',';
        } else {
            out += R"("m":)" + std::to_string(e.mode & kPermissionBits) + ',';
        }
        out += R"("mt":)" + std::to_string(e.mtime_ns) + R"(,"p":)";
        append_json_string(out, e.path);
        if (e.type == EntryType::file) out += R"(,"s":)" + std::to_string(e.size);
        out += R"(,"t":")";
        out += type_code(e.type);
        out += "\"}";
    }
    out += R"(],"version":)" + std::to_string(kManifestVersion) + '}';
    return out;
}

namespace {

// What decode_manifest reads of one entry: each field as json's own value
// (a nested object or array as an empty one), so the checks below apply
// json's rules, without a document of the whole tree in memory.
struct RawEntry {
    bool is_object = false;
    std::optional<json> path, type, mtime, mode, size, link;
};

struct RawManifest {
    bool is_object = false;
    std::optional<json> version;
    bool has_entries = false;  // "entries" is an array
    std::size_t entry_count = 0;
    std::vector<RawEntry> entries;  // at most kMaxManifestEntries kept
};

// SAX events to RawManifest, by what encloses each value.
class ManifestReader final : public nlohmann::json_sax<json> {
public:
    explicit ManifestReader(RawManifest& out) : out_(out) {}

    bool null() override { return value(json(nullptr)); }
    bool boolean(bool v) override { return value(json(v)); }
    bool number_integer(number_integer_t v) override { return value(json(v)); }
    bool number_unsigned(number_unsigned_t v) override { return value(json(v)); }
    bool number_float(number_float_t v, const string_t&) override { return value(json(v)); }
    bool string(string_t& v) override { return value(json(std::move(v))); }
    bool binary(binary_t&) override { return value(json::binary({})); }
    bool start_object(std::size_t) override { return open(true); }
    bool start_array(std::size_t) override { return open(false); }
    bool end_object() override { return close(); }
    bool end_array() override { return close(); }
    bool key(string_t& name) override {
        key_ = std::move(name);
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
        return false;
    }

private:
    enum class Frame { top, entries, entry, skipped };

    // Where a value inside the current frame goes, if anywhere; a nested
    // object or array is recorded as an empty one.
    std::optional<json>* field() {
        if (frames_.empty()) return nullptr;
        if (frames_.back() == Frame::top) return key_ == "version" ? &out_.version : nullptr;
        if (frames_.back() != Frame::entry) return nullptr;
        RawEntry& e = entry();
        if (key_ == "p") return &e.path;
        if (key_ == "t") return &e.type;
        if (key_ == "mt") return &e.mtime;
        if (key_ == "m") return &e.mode;
        if (key_ == "s") return &e.size;
        if (key_ == "l") return &e.link;
        return nullptr;
    }
    RawEntry& entry() {
        return out_.entry_count <= kMaxManifestEntries ? out_.entries.back() : beyond_limit_;
    }
    void add_entry(bool is_object) {
        if (++out_.entry_count <= kMaxManifestEntries) out_.entries.emplace_back();
        entry() = RawEntry{};
        entry().is_object = is_object;
    }
    bool top_field(const char* name) const {
        return !frames_.empty() && frames_.back() == Frame::top && key_ == name;
    }
    bool value(json v) {
        if (top_field("entries")) {
            out_.has_entries = false;  // the last "entries" counts, as in a document
        } else if (!frames_.empty() && frames_.back() == Frame::entries) {
            add_entry(false);
        } else if (auto* slot = field()) {
            *slot = std::move(v);
        }
        return true;
    }
    bool open(bool object) {
        Frame frame = Frame::skipped;
        if (frames_.empty()) {
            out_.is_object = object;
            if (object) frame = Frame::top;
        } else if (top_field("entries")) {
            out_.has_entries = !object;
            out_.entry_count = 0;
            out_.entries.clear();
            if (!object) frame = Frame::entries;
        } else if (frames_.back() == Frame::entries) {
            add_entry(object);
            if (object) frame = Frame::entry;
        } else if (auto* slot = field()) {
            *slot = object ? json::object() : json::array();
        }
        frames_.push_back(frame);
        return true;
    }
    bool close() {
        frames_.pop_back();
        return true;
    }

    RawManifest& out_;
    std::vector<Frame> frames_;
    std::string key_;
    RawEntry beyond_limit_;  // entries past the limit are read, not kept
};

// The layout encode_manifest writes, read without json's lexer (which
// takes most of the time for a large tree): no whitespace, each entry a
// flat object (read_flat_members). Fills `out` as ManifestReader would and
// returns true; false at anything else, and the caller reads the text as
// json (which then also gives the reason a bad manifest is refused).
class OwnLayout {
public:
    explicit OwnLayout(std::string_view text) : text_(text) {}

    bool read(RawManifest& out) {
        if (!literal(R"({"entries":[)")) return false;
        out.is_object = true;
        out.has_entries = true;
        if (!literal("]")) {
            do {
                if (out.entries.size() == kMaxManifestEntries) return false;
                if (!entry(out.entries.emplace_back())) return false;
            } while (literal(","));
            if (!literal("]")) return false;
        }
        out.entry_count = out.entries.size();
        json version;
        if (!literal(R"(,"version":)") || !number(version) || !literal("}")) return false;
        out.version = std::move(version);
        return at_ == text_.size();
    }

private:
    bool entry(RawEntry& e) {
        e.is_object = true;
        return read_flat_members(text_, at_, [&e](std::string& key, json& value) {
            if (key == "p") {
                e.path = std::move(value);
            } else if (key == "t") {
                e.type = std::move(value);
            } else if (key == "mt") {
                e.mtime = std::move(value);
            } else if (key == "m") {
                e.mode = std::move(value);
            } else if (key == "s") {
                e.size = std::move(value);
            } else if (key == "l") {
                e.link = std::move(value);
            }
        });
    }
    bool literal(std::string_view expected) {
        if (text_.substr(at_, expected.size()) != expected) return false;
        at_ += expected.size();
        return true;
    }
    bool number(json& value) { return read_json_integer(text_, at_, value); }

    std::string_view text_;
    std::size_t at_ = 0;
};

void read_as_json(std::string_view text, RawManifest& raw) {
    raw = RawManifest{};
    ManifestReader reader(raw);
    if (!json::sax_parse(text, &reader) || !raw.is_object)
        throw ManifestError("manifest is not a JSON object");
}

Manifest checked(RawManifest& raw);

}  // namespace

Manifest decode_manifest(std::string_view text) {
    RawManifest raw;
    if (!OwnLayout(text).read(raw)) read_as_json(text, raw);
    return checked(raw);
}

Manifest detail::decode_manifest_generic(std::string_view text) {
    RawManifest raw;
    read_as_json(text, raw);
    return checked(raw);
}

namespace {

// The receiver's rules, the same whichever reader filled `raw`.
Manifest checked(RawManifest& raw) {
    if (!raw.version || !raw.version->is_number_integer() ||
        raw.version->get<std::int64_t>() != kManifestVersion)
        throw ManifestError("unknown manifest version");
    if (!raw.has_entries) throw ManifestError("manifest without entries");
    if (raw.entry_count > kMaxManifestEntries) throw ManifestError("manifest has too many entries");

    Manifest manifest;
    manifest.entries.reserve(raw.entries.size());  // no moves: `seen` views the paths
    std::unordered_map<std::string_view, EntryType> seen;
    seen.reserve(raw.entries.size());
    for (std::size_t i = 0; i < raw.entries.size(); ++i) {
        RawEntry& item = raw.entries[i];
        if (!item.is_object) fail(i, "", "not an object");
        ManifestEntry e;
        if (!item.path || !item.path->is_string()) fail(i, "", "missing path");
        e.path = std::move(item.path->get_ref<std::string&>());
        if (auto why = check_relative_path(e.path)) fail(i, e.path, *why);

        const std::string type =
            item.type && item.type->is_string() ? item.type->get<std::string>() : std::string();
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
            e.mtime_ns = item.mtime ? item.mtime->get<std::int64_t>() : 0;
            // A symlink has no mode of its own on Linux; one a sender lists
            // is dropped, as encode_manifest drops it (found by fuzz_manifest).
            if (e.type != EntryType::symlink)
                e.mode = (item.mode ? item.mode->get<std::uint32_t>() : 0) & kPermissionBits;
            if (e.type == EntryType::file) {
                if (!item.size || !item.size->is_number_unsigned()) fail(i, e.path, "missing size");
                e.size = item.size->get<std::uint64_t>();
                if (e.size > kMaxFileBytes) fail(i, e.path, "size too large");
            }
            if (e.type == EntryType::symlink) {
                e.link_target = item.link ? item.link->get<std::string>() : std::string();
                if (auto why = check_link_target(e.path, e.link_target)) fail(i, e.path, *why);
            }
        } catch (const json::exception&) {
            fail(i, e.path, "a field has the wrong type");
        }
        // Parents come first and are directories: nothing is ever written
        // through a file or a symlink.
        const std::string_view parent = parent_of(e.path);
        if (!parent.empty()) {
            const auto it = seen.find(parent);
            if (it == seen.end()) fail(i, e.path, "parent directory is not listed before it");
            if (it->second != EntryType::directory) fail(i, e.path, "parent is not a directory");
        }
        if (seen.contains(e.path)) fail(i, e.path, "listed twice");
        const EntryType entry_type = e.type;
        manifest.entries.push_back(std::move(e));
        seen.emplace(manifest.entries.back().path, entry_type);
    }
    return manifest;
}

}  // namespace

}  // namespace chat
