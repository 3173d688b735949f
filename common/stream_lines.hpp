#pragma once
// The lines a transfer's data stream carries for every file (see
// chatd/transfer_stream.hpp): the sender's head and hash lines, the
// receiver's verdict. Written directly and read in their exact layout,
// without a json document: two of them per file on each side. A reader
// gives up on anything else (another key order, spaces, an error verdict,
// the end line), and the caller then reads the line with json.
#include <cstdint>
#include <string>
#include <string_view>

namespace chat {

std::string file_head_line(std::uint64_t index, std::uint64_t offset);  // {"file":I,"offset":O}
std::string hash_line(std::string_view hex);                            // {"hash":"H"}
std::string verified_line(std::uint64_t index);                         // {"file":I,"ok":true}

// Each with its newline taken off.
bool read_file_head(std::string_view line, std::uint64_t& index, std::uint64_t& offset);
// Lowercase hex digits only; `hex` views `line`.
bool read_hash_line(std::string_view line, std::string_view& hex);
bool read_verified_line(std::string_view line, std::uint64_t& index);

}  // namespace chat
