#pragma once
// argv -> what to do. Pure: no sockets, no stdin (TEXT "-" is left for the
// caller to read), so every form of the command line is unit-testable.
#include <optional>
#include <string>
#include <vector>

#include "control_protocol.hpp"

namespace chat::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;

struct Invocation {
    std::string socket;  // empty: look in the default places
    bool json = false;
    std::string command;             // send, inbox, chat, history, status, peers
    Request request;                 // for chat: an InboxRequest following the peer
    bool text_from_stdin = false;    // send: TEXT was "-"
    bool lines = false;              // send --lines: each line of stdin is a message
    std::vector<std::string> paths;  // transfer: what to send
    bool watch = false;              // transfers --watch
    std::string only;                // transfers ID: that one alone (see read_transfer_ref)
};

struct ParseOutcome {
    std::optional<Invocation> invocation;
    int exit_code = kExitOk;  // when there is no invocation: help (0) or usage error (2)
    std::string output;       // help or error text to print
};

ParseOutcome parse_command_line(const std::vector<std::string>& args);

}  // namespace chat::cli
