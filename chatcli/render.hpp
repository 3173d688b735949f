#pragma once
// Human-readable output. Everything a peer controls goes through
// sanitize_for_terminal, so it is shown, never interpreted.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "control_protocol.hpp"

namespace chat::cli {

// "2026-11-26 18:53:36" in local time.
std::string local_time(std::int64_t unix_ms);
// "[time] name (ip:port): text", or "[time] -> ip:port: text  (state)" for
// sent ones. The time is the sending time (the sender's clock), followed by
// ", received TIME" when that was over a minute apart; plain messages, which
// carry no clock, show when they arrived.
std::string render_message(const MessageView& message);
std::string render_status(const nlohmann::json& status);
std::string render_peers(const nlohmann::json& peers);
std::string render_duration(std::int64_t seconds);
// One line: [#####.....] 45%  450 MiB / 1.0 GiB  12/100 files  110 MiB/s  ETA 5s
std::string render_progress(const nlohmann::json& event, std::size_t bar_width = 24);
// The sender's summary once the receiver has verified and published it all:
// "done: 12 files, 3.0 MiB, verified by the receiver, in 0.5 s (6.0 MiB/s)",
// then where it landed if under another name, and what a resume skipped.
std::string render_done(const nlohmann::json& event);
// One transfer from `chatcli transfers`, and an incoming offer.
std::string render_transfer(const nlohmann::json& transfer);
std::string render_offer(const nlohmann::json& offer);

}  // namespace chat::cli
