#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "transfer_state.hpp"

using namespace chat;

namespace {

constexpr OutgoingState kAllOutgoing[] = {
    OutgoingState::offered,   OutgoingState::waiting,   OutgoingState::sending,
    OutgoingState::finishing, OutgoingState::done,      OutgoingState::failed,
    OutgoingState::rejected,  OutgoingState::cancelled, OutgoingState::interrupted};
constexpr IncomingState kAllIncoming[] = {IncomingState::offered,   IncomingState::accepted,
                                          IncomingState::receiving, IncomingState::done,
                                          IncomingState::failed,    IncomingState::rejected,
                                          IncomingState::cancelled, IncomingState::expired};

}  // namespace

TEST_SUITE("transfer_state") {
    TEST_CASE("each outgoing state has its stored name, both ways") {
        struct Row {
            OutgoingState state;
            const char* name;
            bool finished;
            bool active;
        };
        const Row rows[] = {
            {OutgoingState::offered, "offered", false, true},
            {OutgoingState::waiting, "waiting", false, true},
            {OutgoingState::sending, "sending", false, true},
            {OutgoingState::finishing, "finishing", false, true},
            {OutgoingState::done, "done", true, false},
            {OutgoingState::failed, "failed", true, false},
            {OutgoingState::rejected, "rejected", true, false},
            {OutgoingState::cancelled, "cancelled", true, false},
            {OutgoingState::interrupted, "interrupted", false, false},
        };
        CHECK(std::size(rows) == std::size(kAllOutgoing));
        for (const Row& row : rows) {
            CAPTURE(row.name);
            CHECK(to_string(row.state) == row.name);
            CHECK(outgoing_state_from_string(row.name) == row.state);
            CHECK(is_finished(row.state) == row.finished);
            CHECK(is_active(row.state) == row.active);
        }
        CHECK_FALSE(outgoing_state_from_string("expired"));
        CHECK_FALSE(outgoing_state_from_string("Sending"));
        CHECK_FALSE(outgoing_state_from_string(""));
    }

    TEST_CASE("each incoming state has its stored name, both ways") {
        struct Row {
            IncomingState state;
            const char* name;
            bool finished;
            bool active;
        };
        const Row rows[] = {
            {IncomingState::offered, "offered", false, false},
            {IncomingState::accepted, "accepted", false, true},
            {IncomingState::receiving, "receiving", false, true},
            {IncomingState::done, "done", true, false},
            {IncomingState::failed, "failed", true, false},
            {IncomingState::rejected, "rejected", true, false},
            {IncomingState::cancelled, "cancelled", true, false},
            {IncomingState::expired, "expired", true, false},
        };
        CHECK(std::size(rows) == std::size(kAllIncoming));
        for (const Row& row : rows) {
            CAPTURE(row.name);
            CHECK(to_string(row.state) == row.name);
            CHECK(incoming_state_from_string(row.name) == row.state);
            CHECK(is_finished(row.state) == row.finished);
            CHECK(is_active(row.state) == row.active);
        }
        CHECK_FALSE(incoming_state_from_string("sending"));
        CHECK_FALSE(incoming_state_from_string("interrupted"));
    }

    TEST_CASE("an answer's states have their wire names, both ways") {
        const std::pair<AnswerState, const char*> rows[] = {{AnswerState::pending, "pending"},
                                                            {AnswerState::accepted, "accepted"},
                                                            {AnswerState::rejected, "rejected"},
                                                            {AnswerState::done, "done"}};
        for (const auto& [state, name] : rows) {
            CAPTURE(name);
            CHECK(to_string(state) == name);
            CHECK(answer_state_from_string(name) == state);
        }
        CHECK_FALSE(answer_state_from_string("offered"));
    }

    TEST_CASE("directions have the store's names, both ways") {
        CHECK(to_string(TransferDirection::out) == "out");
        CHECK(to_string(TransferDirection::in) == "in");
        CHECK(direction_from_string("out") == TransferDirection::out);
        CHECK(direction_from_string("in") == TransferDirection::in);
        CHECK_FALSE(direction_from_string("sideways"));
    }

    TEST_CASE("the store prunes the finished states of both directions") {
        const auto names = finished_state_names();
        CHECK(std::vector<std::string>(names.begin(), names.end()) ==
              std::vector<std::string>{"done", "failed", "rejected", "cancelled", "expired"});
    }

    TEST_CASE("the outgoing state machine") {
        using S = OutgoingState;
        struct Move {
            S from;
            S to;
        };
        // Every move the sender makes; any other is refused.
        const Move allowed[] = {
            {S::interrupted, S::offered},   {S::failed, S::offered},      // resumed
            {S::offered, S::waiting},                                     // a person is asked
            {S::offered, S::sending},       {S::waiting, S::sending},     // accepted
            {S::finishing, S::sending},                                   // rerun
            {S::sending, S::finishing},                                   // every job done
            {S::offered, S::done},          {S::waiting, S::done},        // had it already
            {S::sending, S::done},          {S::finishing, S::done},      //
            {S::offered, S::failed},        {S::waiting, S::failed},      // expired, refused
            {S::sending, S::failed},        {S::finishing, S::failed},    //
            {S::offered, S::rejected},      {S::waiting, S::rejected},    //
            {S::sending, S::rejected},      {S::finishing, S::rejected},  //
            {S::interrupted, S::rejected},                                //
            {S::offered, S::cancelled},     {S::waiting, S::cancelled},   //
            {S::sending, S::cancelled},     {S::finishing, S::cancelled},
            {S::interrupted, S::cancelled},                                //
            {S::offered, S::interrupted},   {S::waiting, S::interrupted},  // restart
            {S::sending, S::interrupted},   {S::finishing, S::interrupted},
        };
        for (const S from : kAllOutgoing) {
            for (const S to : kAllOutgoing) {
                bool expected = false;
                for (const Move& m : allowed) expected = expected || (m.from == from && m.to == to);
                CAPTURE(to_string(from));
                CAPTURE(to_string(to));
                CHECK(can_move(from, to) == expected);
            }
        }
    }

    TEST_CASE("the incoming state machine") {
        using S = IncomingState;
        struct Move {
            S from;
            S to;
        };
        const Move allowed[] = {
            {S::failed, S::offered},      {S::expired, S::offered},     // offered again
            {S::offered, S::accepted},    {S::accepted, S::receiving},  //
            {S::receiving, S::done},                                    // published
            {S::accepted, S::failed},     {S::receiving, S::failed},    //
            {S::offered, S::rejected},                                  //
            {S::offered, S::cancelled},   {S::accepted, S::cancelled},  //
            {S::receiving, S::cancelled},                               //
            {S::offered, S::expired},                                   //
        };
        for (const S from : kAllIncoming) {
            for (const S to : kAllIncoming) {
                bool expected = false;
                for (const Move& m : allowed) expected = expected || (m.from == from && m.to == to);
                CAPTURE(to_string(from));
                CAPTURE(to_string(to));
                CHECK(can_move(from, to) == expected);
            }
        }
    }
}
