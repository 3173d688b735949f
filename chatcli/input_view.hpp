#pragma once
// The chat input line as one terminal row that scrolls sideways: which part
// of what is typed fits, and where the cursor goes. Pure, so the layout is
// a table of cases; the chat loop only writes it with \r and erase-line,
// which leaves nothing behind however long the line grows.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace chat::cli {

// One character as the terminal shows it: sanitized (a control character
// as ^X, a bidi mark as <U+202E>), and how many columns that takes.
struct InputCell {
    std::size_t bytes = 0;  // of the typed text
    std::string shown;
    std::size_t columns = 0;
};
std::vector<InputCell> input_cells(std::string_view typed);

struct InputView {
    std::size_t first_cell = 0;     // the leftmost cell shown
    std::string shown;              // what to write after the prompt
    std::size_t columns = 0;        // that `shown` takes
    std::size_t cursor_column = 0;  // from the start of `shown`
    bool hidden_left = false;       // cells before first_cell
    bool hidden_right = false;      // cells past the end of `shown`
};

// The view of `cells` with the cursor before cell `cursor` (cells.size():
// at the end), in `width` columns (at least 1): the cursor always inside
// them. `previous_first` is the last view's first cell, kept while the
// cursor stays in view so the text does not jump at every key; a cursor
// moved left of it is brought half a width in.
InputView layout_input(const std::vector<InputCell>& cells, std::size_t cursor, std::size_t width,
                       std::size_t previous_first = 0);

}  // namespace chat::cli
