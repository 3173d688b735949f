// The chat input line's layout: one row, scrolled sideways so the cursor
// stays in view, never wider than it is given.
#include <doctest/doctest.h>

#include <string>

#include "input_view.hpp"

using namespace chat::cli;

TEST_SUITE("input_view") {
    TEST_CASE("cells: what the terminal shows for each character, and its width") {
        const auto cells = input_cells("a\xc3\xa9\xe4\xb8\xad\x1b\xe2\x80\xae\xff");
        REQUIRE(cells.size() == 6);
        CHECK(cells[0].shown == "a");
        CHECK(cells[0].columns == 1);
        CHECK(cells[1].shown == "\xc3\xa9");  // é
        CHECK(cells[1].columns == 1);
        CHECK(cells[1].bytes == 2);
        CHECK(cells[2].columns == 2);   // 中, wide
        CHECK(cells[3].shown == "^[");  // ESC, shown not sent to the terminal
        CHECK(cells[3].columns == 2);
        CHECK(cells[4].shown == "<U+202E>");  // a bidi override
        CHECK(cells[4].columns == 8);
        CHECK(cells[5].shown == "<FF>");  // not UTF-8
    }

    TEST_CASE("the view keeps the cursor in sight and never exceeds the width") {
        struct Case {
            std::string typed;
            std::size_t cursor, width, previous_first;
            std::string shown;
            std::size_t first, cursor_column;
            bool hidden_left, hidden_right;
        };
        const std::string digits = "0123456789";
        const Case cases[] = {
            // Fits: all of it, the cursor after the end.
            {"hello", 5, 10, 0, "hello", 0, 5, false, false},
            {"", 0, 10, 0, "", 0, 0, false, false},
            // Exactly the width with the cursor at the end: one scrolls off
            // (the cursor needs a column of its own).
            {digits, 10, 10, 0, "123456789", 1, 9, true, false},
            // Longer than the width: the end in view, the cursor last.
            {digits + digits, 20, 8, 0, "3456789", 13, 7, true, false},
            // The cursor moved left, still in view: the view stays, but for
            // the column the cursor no longer needs past the end.
            {digits + digits, 15, 8, 13, "23456789", 12, 3, true, false},
            {digits + digits, 13, 8, 12, "23456789", 12, 1, true, false},
            // Moved left past the view: it scrolls the cursor half a width in.
            {digits + digits, 10, 8, 13, "67890123", 6, 4, true, true},
            {digits + digits, 4, 8, 13, "01234567", 0, 4, false, true},
            // Home: the start, the rest hidden to the right.
            {digits + digits, 0, 8, 13, "01234567", 0, 0, false, true},
            // Erased down to what fits: the start comes back into view.
            {"0123", 4, 8, 13, "0123", 0, 4, false, false},
            // 106 characters at 80 columns less the prompt and last column.
            {std::string(100, 'x') + "tail-x", 106, 77, 0, std::string(70, 'x') + "tail-x", 30, 76,
             true, false},
            // Wide characters count twice; a cell never splits at the edge.
            {"\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad", 3, 4, 0, "\xe4\xb8\xad", 2, 2, true, false},
            {"\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad", 0, 5, 0, "\xe4\xb8\xad\xe4\xb8\xad", 0, 0,
             false, true},
            // A width of nothing still shows the cursor's column.
            {"abc", 3, 0, 0, "", 3, 0, true, false},
        };
        for (const auto& c : cases) {
            CAPTURE(c.typed);
            CAPTURE(c.cursor);
            CAPTURE(c.width);
            const InputView view =
                layout_input(input_cells(c.typed), c.cursor, c.width, c.previous_first);
            CHECK(view.shown == c.shown);
            CHECK(view.first_cell == c.first);
            CHECK(view.cursor_column == c.cursor_column);
            CHECK(view.hidden_left == c.hidden_left);
            CHECK(view.hidden_right == c.hidden_right);
            CHECK(view.cursor_column < std::max<std::size_t>(c.width, 1));
        }
    }
}
