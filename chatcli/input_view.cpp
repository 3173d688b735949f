#include "input_view.hpp"

#include <algorithm>

#include "text.hpp"

namespace chat::cli {
namespace {

// Length of the UTF-8 sequence at text[at] (1 for a byte that starts none)
// and its code point.
std::size_t sequence(std::string_view text, std::size_t at, char32_t& code) {
    const auto lead = static_cast<unsigned char>(text[at]);
    const std::size_t length = lead < 0x80       ? 1
                               : lead >> 5 == 6  ? 2
                               : lead >> 4 == 14 ? 3
                               : lead >> 3 == 30 ? 4
                                                 : 1;
    if (length == 1 || at + length > text.size()) {
        code = lead;
        return 1;
    }
    code = lead & (0x7F >> length);
    for (std::size_t i = 1; i < length; ++i) {
        const auto next = static_cast<unsigned char>(text[at + i]);
        if ((next & 0xC0) != 0x80) {
            code = lead;
            return 1;
        }
        code = (code << 6) | (next & 0x3F);
    }
    return length;
}

// Columns a printable code point takes: East Asian wide and emoji 2,
// combining marks and zero-width ones 0, the rest 1.
std::size_t code_columns(char32_t c) {
    if ((c >= 0x0300 && c <= 0x036F) || (c >= 0x200B && c <= 0x200F) || c == 0xFE0F) return 0;
    const bool wide = (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF) ||
                      (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
                      (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
                      (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) ||
                      (c >= 0x1F900 && c <= 0x1F9FF) || (c >= 0x20000 && c <= 0x3FFFD);
    return wide ? 2 : 1;
}

}  // namespace

std::vector<InputCell> input_cells(std::string_view typed) {
    std::vector<InputCell> cells;
    for (std::size_t at = 0; at < typed.size();) {
        char32_t code = 0;
        const std::size_t length = sequence(typed, at, code);
        InputCell cell{length, sanitize_for_terminal(typed.substr(at, length)), 0};
        // Sanitized forms (^X, <U+XXXX>, <XX>) are ASCII, a column each.
        cell.columns = cell.shown == typed.substr(at, length) && code >= 0x80 ? code_columns(code)
                                                                              : cell.shown.size();
        cells.push_back(std::move(cell));
        at += length;
    }
    return cells;
}

InputView layout_input(const std::vector<InputCell>& cells, std::size_t cursor, std::size_t width,
                       std::size_t previous_first) {
    width = std::max<std::size_t>(width, 1);
    cursor = std::min(cursor, cells.size());
    // Columns from cell `from` up to and including the cursor's own column.
    const auto span = [&](std::size_t from) {
        std::size_t columns = 1;  // the cursor's
        for (std::size_t i = from; i < cursor; ++i) columns += cells[i].columns;
        if (cursor < cells.size())
            columns += cells[cursor].columns - std::min<std::size_t>(cells[cursor].columns, 1);
        return columns;
    };
    // A cursor moved left out of view lands mid-view, with what is before
    // it in sight, rather than at the edge (one scroll per half a width).
    std::size_t first = previous_first;
    if (cursor < first) first = cursor > width / 2 ? cursor - width / 2 : 0;
    while (first < cursor && span(first) > width) ++first;
    // No room left empty at the right while text is hidden on the left
    // (after erasing, say).
    const auto to_end = [&](std::size_t from) {
        std::size_t columns = cursor == cells.size() ? 1 : 0;
        for (std::size_t i = from; i < cells.size(); ++i) columns += cells[i].columns;
        return columns;
    };
    while (first > 0 && to_end(first - 1) <= width) --first;

    InputView view;
    view.first_cell = first;
    view.hidden_left = first > 0;
    std::size_t used = 0;
    std::size_t i = first;
    for (; i < cells.size(); ++i) {
        if (used + cells[i].columns > width) break;
        if (i == cursor) view.cursor_column = used;
        view.shown += cells[i].shown;
        used += cells[i].columns;
    }
    if (cursor >= i) view.cursor_column = used;
    view.columns = used;
    view.hidden_right = i < cells.size();
    return view;
}

}  // namespace chat::cli
