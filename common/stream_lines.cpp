#include "stream_lines.hpp"

#include "flat_json.hpp"

namespace chat {

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
    return skip_literal(line, at, "{\"file\":") && read_json_count(line, at, index) &&
           skip_literal(line, at, ",\"offset\":") && read_json_count(line, at, offset) &&
           skip_literal(line, at, "}") && at == line.size();
}

bool read_hash_line(std::string_view line, std::string_view& hex) {
    std::size_t at = 0;
    if (!skip_literal(line, at, "{\"hash\":\"") || line.size() < at + 2 || !line.ends_with("\"}"))
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
    return skip_literal(line, at, "{\"file\":") && read_json_count(line, at, index) &&
           skip_literal(line, at, ",\"ok\":true}") && at == line.size();
}

}  // namespace chat
