#include "transfer_paths.hpp"

#include <vector>

#include "text.hpp"

namespace chat {
namespace {

// Each '/'-separated component, empty ones included, without a vector:
// every entry of a manifest is checked, tens of thousands per transfer.
template <class Visit>
void each_component(std::string_view path, Visit visit) {
    std::size_t start = 0;
    while (start <= path.size()) {
        const auto slash = path.find('/', start);
        const auto end = slash == std::string_view::npos ? path.size() : slash;
        visit(path.substr(start, end - start));
        start = end + 1;
    }
}

}  // namespace

std::optional<std::string> check_relative_path(std::string_view path) {
    if (path.empty()) return "empty path";
    if (path.size() > kMaxPathBytes) return "path longer than 4095 bytes";
    if (path.front() == '/') return "absolute path";
    if (!is_valid_utf8(path)) return "not valid UTF-8";
    for (const char c : path) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte == 0) return "NUL byte in name";
        if ((byte < 0x20 && byte != '\n') || byte == 0x7F) return "control character in name";
    }
    std::optional<std::string> why;
    each_component(path, [&why](std::string_view part) {
        if (why) return;
        if (part.empty()) {
            why = "empty name component";
        } else if (part == "." || part == "..") {
            why = "'" + std::string(part) + "' component";
        } else if (part.size() > kMaxFileNameBytes) {
            why = "name longer than 255 bytes";
        }
    });
    return why;
}

std::optional<std::string> check_link_target(std::string_view link_path, std::string_view target) {
    if (target.empty()) return "empty link target";
    if (target.front() == '/') return "link to an absolute path";
    if (target.find('\0') != std::string_view::npos) return "NUL byte in link target";
    // The manifest is JSON: a target that is not UTF-8 cannot be listed.
    if (!is_valid_utf8(target)) return "link target is not valid UTF-8";
    // Depth of the directory holding the link, then walk the target.
    int depth = -1;
    each_component(link_path, [&depth](std::string_view) { ++depth; });
    bool outside = false;
    each_component(target, [&](std::string_view part) {
        if (part.empty() || part == ".") return;
        if (part == "..") {
            outside = outside || --depth < 0;
        } else {
            ++depth;
        }
    });
    if (outside) return "link points outside the transfer";
    return std::nullopt;
}

std::string unused_name(const std::string& name,
                        const std::function<bool(const std::string&)>& taken) {
    if (!taken(name)) return name;
    // Keep an extension after the counter, but not for dotfiles (".bashrc").
    const auto dot = name.rfind('.');
    const bool has_extension = dot != std::string::npos && dot != 0;
    const std::string stem = has_extension ? name.substr(0, dot) : name;
    const std::string extension = has_extension ? name.substr(dot) : "";
    for (unsigned n = 1;; ++n) {
        std::string candidate = stem + " (" + std::to_string(n) + ")" + extension;
        if (!taken(candidate)) return candidate;
    }
}

}  // namespace chat
