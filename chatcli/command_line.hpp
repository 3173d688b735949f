#pragma once
// argv -> what to do. Pure: no sockets, no stdin (TEXT "-" is left for the
// caller to read), so every form of the command line is unit-testable.
//
// The Command variant is the one place a command is named: parsing yields
// one of its structs, and everything after (handlers in main.cpp, rendering)
// is chosen by its type, never by comparing the command's name. A new
// command is one struct here, one parse entry, one handler, one renderer.
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "control_protocol.hpp"

namespace chat::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;

// A refusal's exit code from its "code": a usage error (2) when the request
// itself was wrong, else failed (1).
int exit_code_for_refusal(std::string_view code);

struct SendCommand {
    SendRequest request;
    bool text_from_stdin = false;  // TEXT was "-"
    bool lines = false;            // --lines: each line of stdin is a message
};
struct InboxCommand {
    InboxRequest request;
};
struct ChatCommand {
    InboxRequest request;  // follows the peer's messages
};
struct HistoryCommand {
    HistoryRequest request;
};
struct TransferCommand {
    TransferRequest request;         // the manifest and descriptors come from `paths`
    std::vector<std::string> paths;  // what to send
};
struct TransfersCommand {
    TransfersRequest request;
    std::string only;               // ID: that one alone, as given (see read_transfer_ref)
    std::uint64_t only_number = 0;  // ID read: our number, or 0
    std::string only_prefix;        // and the start of the shared id, or empty
};
// accept, reject and cancel: one request, three answers worded apart.
struct AcceptCommand {
    DecideRequest request;
};
struct RejectCommand {
    DecideRequest request;
};
struct CancelCommand {
    DecideRequest request;
};
struct StatusCommand {
    StatusRequest request;
};
struct PeersCommand {
    PeersRequest request;
};
struct IdCommand {
    IdRequest request;
};
// The safety number, then (on a terminal, or with --yes) the peer verified.
struct VerifyCommand {
    VerifyRequest request;  // confirm set by --yes
};
struct TrustCommand {
    TrustRequest request;
};

using Command =
    std::variant<SendCommand, InboxCommand, ChatCommand, HistoryCommand, TransferCommand,
                 TransfersCommand, AcceptCommand, RejectCommand, CancelCommand, StatusCommand,
                 PeersCommand, IdCommand, VerifyCommand, TrustCommand>;

// The request a command sends to chatd (as parsed; main fills in what
// comes from stdin or the file system).
Request request_of(const Command& command);

struct Invocation {
    std::string socket;  // empty: look in the default places
    bool json = false;
    Command command;
};

struct ParseOutcome {
    std::optional<Invocation> invocation;
    int exit_code = kExitOk;  // when there is no invocation: help (0) or usage error (2)
    std::string output;       // help or error text to print
};

ParseOutcome parse_command_line(const std::vector<std::string>& args);

}  // namespace chat::cli
