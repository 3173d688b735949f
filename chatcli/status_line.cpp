#include "status_line.hpp"

#include <sys/ioctl.h>

#include <iostream>

namespace chat::cli {

std::size_t terminal_columns(int fd) {
    winsize size{};
    if (::ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
    return 80;
}

void StatusLine::draw(Layout layout) {
    layout_ = std::move(layout);
    const std::size_t columns = terminal_columns(fd_);
    std::string out = clear_sequence(columns);
    out += layout_(columns > 1 ? columns - 1 : 1);
    last_size_ = out.size() - clear_sequence(columns).size();
    std::cerr << out << std::flush;
}

void StatusLine::redraw() {
    if (last_size_ != 0) draw(std::move(layout_));
}

void StatusLine::end() {
    if (last_size_ != 0) std::cerr << "\n" << std::flush;
    last_size_ = 0;
}

void StatusLine::clear() {
    if (last_size_ != 0) std::cerr << clear_sequence(terminal_columns(fd_)) << std::flush;
    last_size_ = 0;
}

// Row by row with EL, not ED: clearing a whole screen (ED from its top
// left) makes some terminals (tmux) scroll it into history first.
std::string StatusLine::clear_sequence(std::size_t columns) const {
    const std::size_t rows = last_size_ == 0 ? 1 : (last_size_ + columns - 1) / columns;
    if (rows == 1) return "\r\033[K";
    const std::string up = "\033[" + std::to_string(rows - 1) + "A";
    std::string out = "\r" + up;
    for (std::size_t row = 1; row < rows; ++row) out += "\033[K\033[B";
    return out + "\033[K" + up;
}

}  // namespace chat::cli
