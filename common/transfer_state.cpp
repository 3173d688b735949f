#include "transfer_state.hpp"

#include <array>
#include <utility>

#include "enum_names.hpp"

namespace chat {
namespace {

template <typename State, std::size_t N>
using Names = std::array<std::pair<State, std::string_view>, N>;

constexpr Names<OutgoingState, 9> kOutgoingNames{{
    {OutgoingState::offered, "offered"},
    {OutgoingState::waiting, "waiting"},
    {OutgoingState::sending, "sending"},
    {OutgoingState::finishing, "finishing"},
    {OutgoingState::done, "done"},
    {OutgoingState::failed, "failed"},
    {OutgoingState::rejected, "rejected"},
    {OutgoingState::cancelled, "cancelled"},
    {OutgoingState::interrupted, "interrupted"},
}};

constexpr Names<IncomingState, 8> kIncomingNames{{
    {IncomingState::offered, "offered"},
    {IncomingState::accepted, "accepted"},
    {IncomingState::receiving, "receiving"},
    {IncomingState::done, "done"},
    {IncomingState::failed, "failed"},
    {IncomingState::rejected, "rejected"},
    {IncomingState::cancelled, "cancelled"},
    {IncomingState::expired, "expired"},
}};

constexpr Names<TransferDirection, 2> kDirectionNames{{
    {TransferDirection::out, "out"},
    {TransferDirection::in, "in"},
}};

constexpr Names<AnswerState, 4> kAnswerNames{{
    {AnswerState::pending, "pending"},
    {AnswerState::accepted, "accepted"},
    {AnswerState::rejected, "rejected"},
    {AnswerState::done, "done"},
}};

}  // namespace

std::string_view to_string(OutgoingState state) { return name_in(kOutgoingNames, state); }
std::string_view to_string(IncomingState state) { return name_in(kIncomingNames, state); }

std::string_view to_string(TransferDirection direction) {
    return name_in(kDirectionNames, direction);
}
std::optional<TransferDirection> direction_from_string(std::string_view name) {
    return value_named(kDirectionNames, name);
}

std::string_view to_string(AnswerState state) { return name_in(kAnswerNames, state); }
std::optional<AnswerState> answer_state_from_string(std::string_view name) {
    return value_named(kAnswerNames, name);
}

std::optional<OutgoingState> outgoing_state_from_string(std::string_view name) {
    return value_named(kOutgoingNames, name);
}
std::optional<IncomingState> incoming_state_from_string(std::string_view name) {
    return value_named(kIncomingNames, name);
}

bool is_finished(OutgoingState state) {
    using S = OutgoingState;
    return state == S::done || state == S::failed || state == S::rejected || state == S::cancelled;
}

bool is_finished(IncomingState state) {
    using S = IncomingState;
    return state == S::done || state == S::failed || state == S::rejected ||
           state == S::cancelled || state == S::expired;
}

bool is_active(OutgoingState state) {
    using S = OutgoingState;
    return state == S::offered || state == S::waiting || state == S::sending ||
           state == S::finishing;
}

bool is_active(IncomingState state) {
    return state == IncomingState::accepted || state == IncomingState::receiving;
}

std::vector<std::string_view> finished_state_names() {
    std::vector<std::string_view> names;
    for (const auto& [state, name] : kIncomingNames)
        if (is_finished(state)) names.push_back(name);
    // Every finished outgoing state has an incoming one of the same name.
    for (const auto& [state, name] : kOutgoingNames) {
        if (is_finished(state) && !is_finished(*incoming_state_from_string(name)))
            names.push_back(name);
    }
    return names;
}

bool can_move(OutgoingState from, OutgoingState to) {
    using S = OutgoingState;
    switch (to) {
        case S::offered:  // sent (again): a fresh one, or one that can resume
            return from == S::interrupted || from == S::failed;
        case S::waiting:  // the receiver asks a person
            return from == S::offered;
        case S::sending:  // accepted; or rerun while finishing
            return from == S::offered || from == S::waiting || from == S::finishing;
        case S::finishing:  // every job is done
            return from == S::sending;
        case S::done:  // the receiver has it all
            return is_active(from);
        case S::failed:
            return is_active(from);
        case S::rejected:  // by the receiver, before or during
            return is_active(from) || from == S::interrupted;
        case S::cancelled:  // by us
            return is_active(from) || from == S::interrupted;
        case S::interrupted:  // chatd restarted under it
            return is_active(from);
    }
    return false;
}

bool can_move(IncomingState from, IncomingState to) {
    using S = IncomingState;
    switch (to) {
        case S::offered:  // the sender runs a failed or expired one again
            return from == S::failed || from == S::expired;
        case S::accepted:
            return from == S::offered;
        case S::receiving:  // the manifest came
            return from == S::accepted;
        case S::done:  // published
            return from == S::receiving;
        case S::failed:
            return is_active(from);
        case S::rejected:  // refused before it began
            return from == S::offered;
        case S::cancelled:  // by either side
            return from == S::offered || is_active(from);
        case S::expired:  // unanswered too long
            return from == S::offered;
    }
    return false;
}

}  // namespace chat
