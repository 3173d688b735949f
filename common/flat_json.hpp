#pragma once
// Readers for the JSON that chatd and chatcli write themselves, faster than
// json's parser, whose lexer dominates on long strings (a transfer's
// manifest travels as one). Each gives up on anything outside its narrow
// layout, and the caller then parses the text with json: the result is the
// same either way, only the time differs.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace chat {

// The integer at text[at], as json reads it (unsigned unless negative),
// moving `at` past it. False for a fraction, an exponent, a leading zero,
// more than 19 digits or anything that is not a number.
bool read_json_integer(std::string_view text, std::size_t& at, nlohmann::json& value);
// The same integer as its sign and magnitude, without a json value.
bool read_json_integer(std::string_view text, std::size_t& at, bool& negative,
                       std::uint64_t& magnitude);

// Moves `at` past `literal` if the text has it there.
bool skip_literal(std::string_view text, std::size_t& at, std::string_view literal);
// A non-negative integer at text[at] (read_json_integer's rules).
bool read_json_count(std::string_view text, std::size_t& at, std::uint64_t& value);

// Reads the flat object at text[at] (the layout read_flat_object takes),
// handing each member to `member` in order and moving `at` past its
// closing brace. False for anything else (`at` is then anywhere).
bool read_flat_members(std::string_view text, std::size_t& at,
                       const std::function<void(std::string& key, nlohmann::json& value)>& member);

// `text` as one flat object without whitespace: keys and string values
// (escapes up to U+007F, UTF-8 checked), arrays of such strings (a send's
// batch of texts), integers, true, false and null; a repeated key keeps its
// last value, as json does. nullopt for anything else, nested objects and
// arrays of anything but strings included.
std::optional<nlohmann::json> read_flat_object(std::string_view text);

}  // namespace chat
