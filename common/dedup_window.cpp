#include "dedup_window.hpp"

#include <stdexcept>

namespace chat {

DedupWindow::DedupWindow(std::size_t capacity) : capacity_(capacity) {
    if (capacity == 0) throw std::invalid_argument("DedupWindow capacity must be positive");
}

bool DedupWindow::insert(std::string key) {
    if (seen_.contains(key)) return false;
    seen_.insert(order_.emplace_back(std::move(key)));
    if (order_.size() > capacity_) {
        seen_.erase(order_.front());
        order_.pop_front();
    }
    return true;
}

}  // namespace chat
