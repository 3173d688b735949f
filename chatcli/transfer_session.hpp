#pragma once
// `chatcli transfer PEER PATH...`: walks the paths, offers them, passes the
// files' descriptors, then follows the transfer's events until it is done.
// chatcli has one thread; the session runs on it from start to end.
#include <string>
#include <vector>

#include "command_line.hpp"

namespace chat::cli {

// Returns the exit code. Throws ControlClient::Unreachable or NoAnswer.
int run_transfer(const std::vector<std::string>& socket_candidates, TransferCommand command,
                 bool json);

}  // namespace chat::cli
