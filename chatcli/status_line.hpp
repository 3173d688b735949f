#pragma once
// A line redrawn in place on a terminal (the progress bar, the wait for an
// answer). It never reaches the last column, so it cannot wrap; a line
// drawn before the terminal narrowed may now take several rows, which are
// cleared too. It keeps its layout, so a resize redraws it at once rather
// than at the next event, which a slow transfer may not send for long.
// chatcli has one thread; the line is drawn on stderr.
#include <cstddef>
#include <functional>
#include <string>

namespace chat::cli {

// The terminal's width now (read at each redraw); 80 when it cannot be read.
std::size_t terminal_columns(int fd);

class StatusLine {
public:
    using Layout = std::function<std::string(std::size_t columns)>;
    explicit StatusLine(int fd) : fd_(fd) {}
    void draw(Layout layout);
    // The line once more at the terminal's width now (after SIGWINCH).
    void redraw();
    // Leaves the line as it is and moves below it (before other output).
    void end();
    // Removes it.
    void clear();
    bool shown() const { return last_size_ != 0; }

private:
    std::string clear_sequence(std::size_t columns) const;
    int fd_;
    std::size_t last_size_ = 0;
    Layout layout_;
};

}  // namespace chat::cli
