#pragma once
// The outbox's timing, apart from the outbox: when an unacked message is
// due again, when it has expired, and when an ack after a silence brings a
// peer's other messages forward. Pure; the outbox (control thread) holds one.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

namespace chat {

// Delay before retry number `attempt` (1 = the first retry): doubles from
// `initial` up to `cap`, so a peer that is down costs little traffic.
inline std::chrono::milliseconds retry_delay(unsigned attempt, std::chrono::milliseconds initial,
                                             std::chrono::milliseconds cap) {
    auto delay = initial;
    for (unsigned i = 1; i < attempt && delay < cap; ++i) delay *= 2;
    return std::min(delay, cap);
}

struct RetrySchedule {
    using Clock = std::chrono::steady_clock;
    std::chrono::milliseconds initial;
    std::chrono::milliseconds cap;

    // Attempts counted once the first datagram left, and after a link is back.
    static constexpr unsigned kFirstAttempt = 1;

    // How often the outbox looks for due messages.
    std::chrono::milliseconds tick() const {
        return std::min(std::chrono::milliseconds(100), initial);
    }
    // A message just sent for the first time is due again one initial later.
    Clock::time_point first_due(Clock::time_point sent) const { return sent + initial; }
    // After attempt number `attempts` went out at `now`.
    Clock::time_point next_due(Clock::time_point now, unsigned attempts) const {
        return now + retry_delay(attempts, initial, cap);
    }
    static bool expired(std::int64_t wall_now_ms, std::int64_t expires_ms) {
        return wall_now_ms >= expires_ms;
    }
    // An ack from a peer whose previous ack (if any) came longer than one
    // initial delay ago: the link is back.
    bool link_back(std::optional<Clock::time_point> previous_ack, Clock::time_point now) const {
        return previous_ack && now - *previous_ack > initial;
    }
    // With the link back, a message due later than one initial from now
    // need not wait out its backoff: it is due now, its backoff restarted.
    bool bring_forward(Clock::time_point next_due, Clock::time_point now) const {
        return next_due > now + initial;
    }
};

}  // namespace chat
