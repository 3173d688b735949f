#pragma once
// The states of a transfer, each direction's, and the one place their
// names are written: the store keeps these names in its rows, listings
// and replies show them. Pure logic, unit-tested (tests/unit/test_transfer_state.cpp).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chat {

// Which way a transfer goes, as the store's rows name it: "out", "in".
enum class TransferDirection { out, in };
std::string_view to_string(TransferDirection direction);
std::optional<TransferDirection> direction_from_string(std::string_view name);

// A transfer we send. offered: the offer goes out until answered;
// waiting: a person on the other side is asked; sending: the jobs run;
// finishing: every file is verified, the receiver has yet to publish;
// interrupted: under way when chatd restarted (the same paths sent again
// resume it). The rest are finished.
enum class OutgoingState {
    offered,
    waiting,
    sending,
    finishing,
    done,
    failed,
    rejected,
    cancelled,
    interrupted
};

// A transfer we receive. offered: waiting for a decision; accepted: the
// staging tree is made, the manifest not yet in; receiving: data
// connections are served. The rest are finished.
enum class IncomingState {
    offered,
    accepted,
    receiving,
    done,
    failed,
    rejected,
    cancelled,
    expired
};

std::string_view to_string(OutgoingState state);
std::string_view to_string(IncomingState state);
// nullopt for a name that is none of that direction's states.
std::optional<OutgoingState> outgoing_state_from_string(std::string_view name);
std::optional<IncomingState> incoming_state_from_string(std::string_view name);

// What a receiver answers an offer (TransferAnswer::state on the wire):
// pending (a person is asked), accepted, rejected, done (published).
enum class AnswerState { pending, accepted, rejected, done };
std::string_view to_string(AnswerState state);
std::optional<AnswerState> answer_state_from_string(std::string_view name);

// Finished: nothing more happens unless the sender runs it again (a
// failed transfer can resume).
bool is_finished(OutgoingState state);
bool is_finished(IncomingState state);
// Under way: counted as active, and what the daemon waits for.
bool is_active(OutgoingState state);
bool is_active(IncomingState state);
// The names of every finished state of either direction, for the store's
// SQL: it keeps the newest finished rows and prunes the rest.
std::vector<std::string_view> finished_state_names();

// The state machines: whether a transfer may move from one state to the
// other (staying in a state is not a move).
bool can_move(OutgoingState from, OutgoingState to);
bool can_move(IncomingState from, IncomingState to);

}  // namespace chat
