#pragma once
// The one way an enum's names are written and read: each enum has a table
// of {value, name} pairs in its own .cpp, and these two look-ups serve
// every table. Pure, header-only.
#include <iterator>
#include <optional>
#include <string_view>
#include <type_traits>

namespace chat {

// The name `value` has in `names`; `fallback` for one the table lacks.
template <typename Table, typename Enum>
constexpr std::string_view name_in(const Table& names, Enum value,
                                   std::string_view fallback = "?") {
    for (const auto& [v, name] : names)
        if (v == value) return name;
    return fallback;
}

// The value named `name` in `names`; nullopt for a name that is none of them.
template <typename Table>
constexpr auto value_named(const Table& names, std::string_view name)
    -> std::optional<std::remove_cvref_t<decltype(std::begin(names)->first)>> {
    for (const auto& [value, known] : names)
        if (known == name) return value;
    return std::nullopt;
}

}  // namespace chat
