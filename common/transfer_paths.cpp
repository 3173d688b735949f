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

std::optional<std::string> check_link_target(std::string_view link_path, std::string_view target,
                                             const std::function<bool(std::string_view)>& is_link) {
    if (target.empty()) return "empty link target";
    if (target.front() == '/') return "link to an absolute path";
    if (target.find('\0') != std::string_view::npos) return "NUL byte in link target";
    // The manifest is JSON: a target that is not UTF-8 cannot be listed.
    if (!is_valid_utf8(target)) return "link target is not valid UTF-8";
    const std::string_view top = link_path.substr(0, link_path.find('/'));
    const auto outside = [top] { return "link points outside '" + std::string(top) + "'"; };
    const auto slash = link_path.rfind('/');
    if (slash == std::string_view::npos) return outside();
    // Where the target has led so far, from the top of the transfer: the
    // link's own directory (directories only, by the manifest's rules), then
    // each name of the target, with whether that name went through a link.
    std::string at(link_path.substr(0, slash));
    struct Step {
        std::size_t length_before;
        bool through_link;
    };
    std::vector<Step> steps;
    std::string first_link;  // of the steps through a link, which no '..' pops
    std::optional<std::string> why;
    each_component(target, [&](std::string_view part) {
        if (why || part.empty() || part == ".") return;
        if (part != "..") {
            const bool after_link = !steps.empty() && steps.back().through_link;
            steps.push_back({at.size(), after_link});
            at += '/';
            at += part;
            if (!after_link && is_link && is_link(at)) {
                steps.back().through_link = true;
                first_link = at;
            }
            return;
        }
        if (steps.empty()) {
            // Up from the link's own directories: out once above the top.
            const auto up = at.rfind('/');
            if (up == std::string::npos) {
                why = outside();
            } else {
                at.resize(up);
            }
            return;
        }
        if (steps.back().through_link) {
            why = "link target has '..' after another link ('" + first_link + "')";
            return;
        }
        at.resize(steps.back().length_before);
        steps.pop_back();
    });
    return why;
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

std::string staging_name(std::string_view transfer_id) {
    return ".chatd-staging-" + std::string(transfer_id);
}

}  // namespace chat
