#include "offer_policy.hpp"

#include <stdexcept>

#include "address.hpp"
#include "enum_names.hpp"
#include "text.hpp"

namespace chat {

namespace {
constexpr std::pair<AcceptPolicy, std::string_view> kAcceptPolicyNames[] = {
    {AcceptPolicy::ask, "ask"}, {AcceptPolicy::trusted, "trusted"}, {AcceptPolicy::all, "all"}};
}  // namespace

std::string_view to_string(AcceptPolicy policy) {
    return name_in(kAcceptPolicyNames, policy, "ask");
}

std::optional<AcceptPolicy> accept_policy_from_string(std::string_view name) {
    return value_named(kAcceptPolicyNames, name);
}

std::optional<std::string> offer_refusal(const Config::Transfer& policy, std::uint64_t bytes) {
    if (policy.max_bytes == 0 || bytes <= policy.max_bytes) return std::nullopt;
    return "the offer is " + format_bytes(bytes) + ", over this peer's limit of " +
           format_bytes(policy.max_bytes) + " (transfer.max_bytes)";
}

namespace {

bool is_trusted(const Config& config, const std::string& peer) {
    for (const auto& who : config.transfer.trusted) {
        try {
            const HostPort hp = parse_host_port(peer_address(config, who));
            // The whole address, or the host on any port.
            if (peer == format_host_port(hp.host, hp.port) || parse_host_port(peer).host == hp.host)
                return true;
        } catch (const std::invalid_argument&) {  // not an address: names no one
        }
    }
    return false;
}

}  // namespace

bool accepts_without_asking(const Config& config, const std::string& peer) {
    // The config was validated: a name it does not know cannot come here.
    switch (accept_policy_from_string(config.transfer.accept).value_or(AcceptPolicy::ask)) {
        case AcceptPolicy::all:
            return true;
        case AcceptPolicy::trusted:
            return is_trusted(config, peer);
        case AcceptPolicy::ask:
            return false;
    }
    return false;
}

}  // namespace chat
