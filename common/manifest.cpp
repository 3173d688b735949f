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

// One entry as the reader of encode_manifest's own layout found it: only
// the fields and types encode_manifest writes.
struct TypedEntry {
    std::optional<std::string> path, type, link;
    std::optional<std::int64_t> mtime;
    std::optional<std::uint64_t> mode, size;
};

// The layout encode_manifest writes, read without json's lexer and without
// a json value per field (which took most of the time for a large tree):
// no whitespace, each entry a flat object of the keys encode_manifest
// writes, each with the type it writes. False at anything else, and the
// caller reads the text as json (which then also gives the reason a bad
// manifest is refused): the result is the same either way.
class OwnLayout {
public:
    explicit OwnLayout(std::string_view text) : text_(text) {}

    bool read(std::vector<TypedEntry>& out) {
        if (!literal(R"({"entries":[)")) return false;
        if (!next_is(']')) {
            do {
                if (out.size() == kMaxManifestEntries) return false;
                if (!entry(out.emplace_back())) return false;
            } while (next_is(','));
            if (!next_is(']')) return false;
        }
        bool negative = false;
        std::uint64_t version = 0;
        return literal(R"(,"version":)") && read_json_integer(text_, at_, negative, version) &&
               !negative && version == kManifestVersion && literal("}") && at_ == text_.size();
    }

private:
    bool entry(TypedEntry& e) {
        if (!next_is('{')) return false;
        do {
            // encode_manifest's keys are one or two letters, without escapes.
            if (!next_is('"')) return false;
            const std::size_t start = at_;
            while (at_ < text_.size() && at_ - start < 3 && text_[at_] >= 'a' && text_[at_] <= 'z')
                ++at_;
            const std::string_view key = text_.substr(start, at_ - start);
            if (!next_is('"') || !next_is(':')) return false;
            if (key == "p") {
                if (!string(e.path)) return false;
            } else if (key == "t") {
                if (!string(e.type)) return false;
            } else if (key == "l") {
                if (!string(e.link)) return false;
            } else if (key == "mt") {
                bool negative = false;
                std::uint64_t magnitude = 0;
                if (!read_json_integer(text_, at_, negative, magnitude)) return false;
                // As json's get<int64_t> converts an unsigned value.
                e.mtime = negative ? -static_cast<std::int64_t>(magnitude)
                                   : static_cast<std::int64_t>(magnitude);
            } else if (key == "m" || key == "s") {
                if (!unsigned_number(key == "m" ? e.mode : e.size)) return false;
            } else {
                return false;
            }
        } while (next_is(','));
        return next_is('}');
    }
    bool string(std::optional<std::string>& out) {
        std::string value;
        if (!read_json_string(text_, at_, value) || !is_valid_utf8(value)) return false;
        out = std::move(value);
        return true;
    }
    bool unsigned_number(std::optional<std::uint64_t>& out) {
        bool negative = false;
        std::uint64_t magnitude = 0;
        if (!read_json_integer(text_, at_, negative, magnitude) || negative) return false;
        out = magnitude;
        return true;
    }
    bool literal(std::string_view expected) {
        if (text_.substr(at_, expected.size()) != expected) return false;
        at_ += expected.size();
        return true;
    }
    bool next_is(char c) {
        if (at_ >= text_.size() || text_[at_] != c) return false;
        ++at_;
        return true;
    }

    std::string_view text_;
    std::size_t at_ = 0;
};

// What checked() asks of an entry, from either reader. json's accessors
// throw json::exception for a field of the wrong type; a TypedEntry has
// none.
bool is_object(const RawEntry& e) { return e.is_object; }
bool is_object(const TypedEntry&) { return true; }
std::string* path_of(RawEntry& e) {
    return e.path && e.path->is_string() ? &e.path->get_ref<std::string&>() : nullptr;
}
std::string* path_of(TypedEntry& e) { return e.path ? &*e.path : nullptr; }
std::string_view type_of(const RawEntry& e) {
    return e.type && e.type->is_string() ? std::string_view(e.type->get_ref<const std::string&>())
                                         : std::string_view();
}
std::string_view type_of(const TypedEntry& e) {
    return e.type ? std::string_view(*e.type) : std::string_view();
}
std::int64_t mtime_of(const RawEntry& e) { return e.mtime ? e.mtime->get<std::int64_t>() : 0; }
std::int64_t mtime_of(const TypedEntry& e) { return e.mtime.value_or(0); }
std::uint32_t mode_of(const RawEntry& e) { return e.mode ? e.mode->get<std::uint32_t>() : 0; }
std::uint32_t mode_of(const TypedEntry& e) {
    return static_cast<std::uint32_t>(e.mode.value_or(0));  // as json's get<uint32_t>
}
std::optional<std::uint64_t> size_of(const RawEntry& e) {
    if (!e.size || !e.size->is_number_unsigned()) return std::nullopt;
    return e.size->get<std::uint64_t>();
}
std::optional<std::uint64_t> size_of(const TypedEntry& e) { return e.size; }
std::string link_of(const RawEntry& e) { return e.link ? e.link->get<std::string>() : ""; }
std::string link_of(const TypedEntry& e) { return e.link.value_or(""); }

void read_as_json(std::string_view text, RawManifest& raw) {
    raw = RawManifest{};
    ManifestReader reader(raw);
    if (!json::sax_parse(text, &reader) || !raw.is_object)
        throw ManifestError("manifest is not a JSON object");
}

template <class Entry>
Manifest checked(std::vector<Entry>& entries);

// The document's own rules, for json's reader.
Manifest checked(RawManifest& raw) {
    if (!raw.version || !raw.version->is_number_integer() ||
        raw.version->get<std::int64_t>() != kManifestVersion)
        throw ManifestError("unknown manifest version");
    if (!raw.has_entries) throw ManifestError("manifest without entries");
    if (raw.entry_count > kMaxManifestEntries) throw ManifestError("manifest has too many entries");
    return checked(raw.entries);
}

}  // namespace

Manifest decode_manifest(std::string_view text) {
    std::vector<TypedEntry> entries;
    if (OwnLayout(text).read(entries)) return checked(entries);
    RawManifest raw;
    read_as_json(text, raw);
    return checked(raw);
}

Manifest detail::decode_manifest_generic(std::string_view text) {
    RawManifest raw;
    read_as_json(text, raw);
    return checked(raw);
}

namespace {

// The receiver's rules for each entry, the same whichever reader found it.
template <class Entry>
Manifest checked(std::vector<Entry>& entries) {
    Manifest manifest;
    manifest.entries.reserve(entries.size());  // no moves: `seen` views the paths
    std::unordered_map<std::string_view, EntryType> seen;
    seen.reserve(entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
        Entry& item = entries[i];
        if (!is_object(item)) fail(i, "", "not an object");
        ManifestEntry e;
        std::string* path = path_of(item);
        if (!path) fail(i, "", "missing path");
        e.path = std::move(*path);
        if (auto why = check_relative_path(e.path)) fail(i, e.path, *why);

        const std::string_view type = type_of(item);
        if (type == "d") {
            e.type = EntryType::directory;
        } else if (type == "f") {
            e.type = EntryType::file;
        } else if (type == "l") {
            e.type = EntryType::symlink;
        } else {
            fail(i, e.path, "unknown type '" + std::string(type) + "'");
        }
        try {
            e.mtime_ns = mtime_of(item);
            // A symlink has no mode of its own on Linux; one a sender lists
            // is dropped, as encode_manifest drops it (found by fuzz_manifest).
            if (e.type != EntryType::symlink) e.mode = mode_of(item) & kPermissionBits;
            if (e.type == EntryType::file) {
                const auto size = size_of(item);
                if (!size) fail(i, e.path, "missing size");
                e.size = *size;
                if (e.size > kMaxFileBytes) fail(i, e.path, "size too large");
            }
            if (e.type == EntryType::symlink) e.link_target = link_of(item);  // checked below
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
    // Links once every entry is known: a '..' after another link of the
    // tree climbs from where that link points, not from its name.
    const auto is_link = [&seen](std::string_view path) {
        const auto it = seen.find(path);
        return it != seen.end() && it->second == EntryType::symlink;
    };
    for (std::size_t i = 0; i < manifest.entries.size(); ++i) {
        const ManifestEntry& e = manifest.entries[i];
        if (e.type != EntryType::symlink) continue;
        if (auto why = check_link_target(e.path, e.link_target, is_link)) fail(i, e.path, *why);
    }
    return manifest;
}

}  // namespace

}  // namespace chat
