#include "stream_lines.hpp"

#include "flat_json.hpp"

namespace chat {
namespace {

bool skip(std::string_view text, std::size_t& at, std::string_view literal) {
    if (text.substr(at, literal.size()) != literal) return false;
    at += literal.size();
    return true;
}

bool read_count(std::string_view text, std::size_t& at, std::uint64_t& value) {
    bool negative = false;
    return read_json_integer(text, at, negative, value) && !negative;
}

}  // namespace

std::string file_head_line(std::uint64_t index, std::uint64_t offset) {
    return "{\"file\":" + std::to_string(index) + ",\"offset\":" + std::to_string(offset) + "}\n";
}

std::string hash_line(std::string_view hex) {
    std::string line = "{\"hash\":\"";
    line += hex;
    return line + "\"}\n";
}

std::string verified_line(std::uint64_t index) {
    return "{\"file\":" + std::to_string(index) + ",\"ok\":true}\n";
}

bool read_file_head(std::string_view line, std::uint64_t& index, std::uint64_t& offset) {
    std::size_t at = 0;
    return skip(line, at, "{\"file\":") && read_count(line, at, index) &&
           skip(line, at, ",\"offset\":") && read_count(line, at, offset) && skip(line, at, "}") &&
           at == line.size();
}

bool read_hash_line(std::string_view line, std::string_view& hex) {
    std::size_t at = 0;
    if (!skip(line, at, "{\"hash\":\"") || line.size() < at + 2 || !line.ends_with("\"}"))
        return false;
    const std::string_view inside = line.substr(at, line.size() - at - 2);
    // Hex digits, as ContentHash::hex writes them; anything else is json's
    // to read (and to refuse, if it is not valid UTF-8).
    if (inside.find_first_not_of("0123456789abcdef") != std::string_view::npos) return false;
    hex = inside;
    return true;
}

bool read_verified_line(std::string_view line, std::uint64_t& index) {
    std::size_t at = 0;
    return skip(line, at, "{\"file\":") && read_count(line, at, index) &&
           skip(line, at, ",\"ok\":true}") && at == line.size();
}

}  // namespace chat
