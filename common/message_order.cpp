#include "message_order.hpp"

namespace chat {

void MessageOrder::restore(const std::string& stream, std::uint64_t next,
                           const std::vector<std::uint64_t>& held) {
    Stream& s = streams_[stream];
    s.next = next;
    s.held = std::set<std::uint64_t>(held.begin(), held.end());
}

void MessageOrder::release(Stream& stream, std::vector<std::uint64_t>& shown) {
    while (!stream.held.empty() && *stream.held.begin() <= stream.next) {
        const std::uint64_t seq = *stream.held.begin();
        stream.held.erase(stream.held.begin());
        shown.push_back(seq);
        if (seq == stream.next) ++stream.next;
    }
}

std::vector<std::uint64_t> MessageOrder::arrive(const std::string& stream, std::uint64_t seq,
                                                std::uint64_t floor) {
    Stream& s = streams_[stream];
    std::vector<std::uint64_t> shown;
    // Below the floor nothing more will come: what is held there is due.
    if (floor > s.next) {
        s.next = floor;
        release(s, shown);
    }
    if (seq < s.next) {
        // Late (or a copy): nothing waits for it, so it shows at once.
        shown.push_back(seq);
    } else if (seq == s.next) {
        shown.push_back(seq);
        ++s.next;
        release(s, shown);
    } else {
        s.held.insert(seq);
        if (s.held.size() > kMaxHeldPerStream) {
            const auto skipped = skip_gap(stream);
            shown.insert(shown.end(), skipped.begin(), skipped.end());
        }
    }
    return shown;
}

std::vector<std::uint64_t> MessageOrder::skip_gap(const std::string& stream) {
    std::vector<std::uint64_t> shown;
    const auto it = streams_.find(stream);
    if (it == streams_.end() || it->second.held.empty()) return shown;
    Stream& s = it->second;
    s.next = *s.held.begin();
    release(s, shown);
    return shown;
}

std::vector<std::uint64_t> MessageOrder::skip_gaps_through(const std::string& stream,
                                                           std::uint64_t seq) {
    std::vector<std::uint64_t> shown;
    std::vector<std::uint64_t> due;
    do {
        due = skip_gap(stream);
        shown.insert(shown.end(), due.begin(), due.end());
    } while (!due.empty() && due.back() < seq);
    return shown;
}

std::uint64_t MessageOrder::next(const std::string& stream) const {
    const auto it = streams_.find(stream);
    return it == streams_.end() ? 0 : it->second.next;
}

std::size_t MessageOrder::held(const std::string& stream) const {
    const auto it = streams_.find(stream);
    return it == streams_.end() ? 0 : it->second.held.size();
}

void MessageOrder::trim(std::size_t keep) {
    if (streams_.size() <= keep) return;
    std::erase_if(streams_, [](const auto& entry) { return entry.second.held.empty(); });
}

}  // namespace chat
