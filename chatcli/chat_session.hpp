#pragma once
#include <string>
#include <vector>

namespace chat::cli {

// `chatcli chat PEER`: see its --help. Returns the exit code.
int run_chat(const std::vector<std::string>& socket_candidates, const std::string& peer, bool json);

}  // namespace chat::cli
