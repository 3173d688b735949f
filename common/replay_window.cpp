#include "replay_window.hpp"

#include <algorithm>

namespace chat {

bool ReplayWindow::check(std::uint64_t counter) const {
    if (counter >= reject_after_) return false;
    // Ahead of the highest: its word is either fresh or holds only counters
    // at or below the highest, so its bit is clear.
    if (counter > highest_) return true;
    if (highest_ - counter > kWindowSize) return false;
    return (ring_[place_of(word_of(counter))] & bit_of(counter)) == 0;
}

bool ReplayWindow::accept(std::uint64_t counter) {
    if (!check(counter)) return false;
    if (counter > highest_) {
        // Clear the words between the highest and the new one; a jump past
        // the whole ring clears every word once, not once per word skipped.
        const std::uint64_t current = word_of(highest_);
        const std::uint64_t ahead = std::min(word_of(counter) - current, kRingWords);
        for (std::uint64_t i = 1; i <= ahead; ++i) ring_[place_of(current + i)] = 0;
        highest_ = counter;
    }
    ring_[place_of(word_of(counter))] |= bit_of(counter);
    return true;
}

}  // namespace chat
