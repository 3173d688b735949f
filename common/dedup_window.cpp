#include "dedup_window.hpp"

#include <bit>
#include <functional>
#include <stdexcept>

namespace chat {

DedupWindow::DedupWindow(std::size_t capacity) : capacity_(capacity) {
    if (capacity == 0) throw std::invalid_argument("DedupWindow capacity must be positive");
    if (capacity >= (std::size_t{1} << 31))
        throw std::invalid_argument("DedupWindow capacity must be below 2^31");
    // At most half full, so probes stay short.
    slots_.assign(std::bit_ceil(capacity * 2), 0);
    mask_ = slots_.size() - 1;
    ring_.reserve(capacity);
}

std::size_t DedupWindow::probe(std::string_view key, std::uint64_t hash, bool& found) const {
    const std::uint64_t fingerprint = hash & 0xffff'ffff;
    for (std::size_t i = static_cast<std::size_t>(fingerprint) & mask_;; i = (i + 1) & mask_) {
        const std::uint64_t slot = slots_[i];
        if (slot == 0) {
            found = false;
            return i;
        }
        if (slot >> 32 == fingerprint && ring_[place_in(slot)].key == key) {
            found = true;
            return i;
        }
    }
}

bool DedupWindow::contains(std::string_view key) const {
    bool found = false;
    probe(key, std::hash<std::string_view>{}(key), found);
    return found;
}

bool DedupWindow::insert(std::string key) {
    const std::uint64_t hash = std::hash<std::string_view>{}(key);
    bool found = false;
    std::size_t at = probe(key, hash, found);
    if (found) return false;
    std::size_t place = ring_.size();
    if (size_ == capacity_) {
        place = head_;
        forget_oldest();  // may shift slots: probe again
        at = probe(key, hash, found);
        ring_[place] = {std::move(key), hash};
    } else {
        ring_.push_back({std::move(key), hash});
    }
    slots_[at] = slot_for(hash, place);
    ++size_;
    return true;
}

void DedupWindow::forget_oldest() {
    const std::size_t oldest = head_;
    const std::uint64_t fingerprint = ring_[oldest].hash & 0xffff'ffff;
    std::size_t i = static_cast<std::size_t>(fingerprint) & mask_;
    while (place_in(slots_[i]) != oldest) i = (i + 1) & mask_;
    // Backward-shift deletion: pull later entries of the run into the gap
    // unless their home lies cyclically after the gap, so every probe still
    // reaches its key before an empty slot.
    for (std::size_t j = i;;) {
        j = (j + 1) & mask_;
        const std::uint64_t slot = slots_[j];
        if (slot == 0) break;
        const std::size_t k = static_cast<std::size_t>(slot >> 32) & mask_;
        const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays) continue;
        slots_[i] = slot;
        i = j;
    }
    slots_[i] = 0;
    head_ = (head_ + 1) % capacity_;
    --size_;
}

}  // namespace chat
