// libFuzzer target: the path checks. A path they accept never escapes:
// no absolute path, no empty, "." or ".." component, no NUL or control
// byte (newline aside), no component over 255 bytes. The input is split
// at the first NUL into a link's path and its target.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "transfer_paths.hpp"

namespace {

bool escapes(std::string_view path) {
    if (path.empty() || path.front() == '/') return true;
    std::size_t start = 0;
    for (;;) {
        const std::size_t slash = path.find('/', start);
        const std::string_view part = path.substr(start, slash - start);
        if (part.empty() || part == "." || part == ".." || part.size() > 255) return true;
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    for (const char c : path) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte == 0 || (byte < 0x20 && byte != '\n') || byte == 0x7f) return true;
    }
    return false;
}

// Resolves `target` lexically from the directory holding `link`: false if
// it is absolute or climbs above the top-level entry the link is in (depth
// 1; a link at the top, depth 0, is outside itself whatever it points at).
bool stays_inside(std::string_view link, std::string_view target) {
    if (target.empty() || target.front() == '/') return false;
    long depth = static_cast<long>(std::count(link.begin(), link.end(), '/'));
    if (depth == 0) return false;
    std::size_t start = 0;
    for (;;) {
        const std::size_t slash = target.find('/', start);
        const std::string_view part = target.substr(start, slash - start);
        if (part == "..") {
            if (--depth < 1) return false;
        } else if (!part.empty() && part != ".") {
            ++depth;
        }
        if (slash == std::string_view::npos) return true;
        start = slash + 1;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t nul = input.find('\0');
    const std::string_view path = input.substr(0, nul);
    if (!chat::check_relative_path(path) && escapes(path)) std::abort();
    if (nul != std::string_view::npos) {
        const std::string_view target = input.substr(nul + 1);
        if (!chat::check_relative_path(path) && !chat::check_link_target(path, target) &&
            !stays_inside(path, target)) {
            std::abort();  // a link it let through points outside its top-level entry
        }
    }
    return 0;
}
