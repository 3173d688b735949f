#include "inbound_order.hpp"

#include "enum_names.hpp"

#include <algorithm>

namespace chat {

ArrivalKind classify_arrival(bool already_committed, std::uint64_t seq) {
    if (already_committed) return ArrivalKind::duplicate;
    return seq == 0 ? ArrivalKind::unordered : ArrivalKind::ordered;
}

namespace {
constexpr std::pair<OrderDecision, std::string_view> kOrderDecisionNames[] = {
    {OrderDecision::show_alone, "show_alone"},
    {OrderDecision::show_among_released, "show_among_released"},
    {OrderDecision::hold, "hold"}};
}  // namespace

std::string_view to_string(OrderDecision decision) {
    return name_in(kOrderDecisionNames, decision);
}

OrderPlan plan_order(std::uint64_t seq, const std::vector<std::uint64_t>& due) {
    OrderPlan plan;
    if (due.size() == 1 && due.front() == seq) {
        plan.decision = OrderDecision::show_alone;
        return plan;
    }
    bool placed = false;
    for (const std::uint64_t s : due) {
        if (s == seq) {
            placed = true;  // a second copy of it is neither shown nor released
            continue;
        }
        (placed ? plan.released_after : plan.released_before).push_back(s);
    }
    plan.decision = placed ? OrderDecision::show_among_released : OrderDecision::hold;
    return plan;
}

std::string order_key(const std::string& peer, const std::string& stream) {
    return peer + ' ' + stream;
}

std::string dedup_key(const std::string& peer, const std::string& msg_id) {
    return peer + ' ' + msg_id;
}

std::chrono::milliseconds hold_limit(std::int64_t retry_max_ms) {
    return std::chrono::milliseconds(std::max<std::int64_t>(1'000, 4 * retry_max_ms));
}

std::chrono::milliseconds hold_scan_period(std::chrono::milliseconds limit) {
    return std::min(std::chrono::milliseconds(5000), limit / 4);
}

}  // namespace chat
