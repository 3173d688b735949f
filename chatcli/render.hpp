#pragma once
// Human-readable output: every line chatcli prints for a person is made
// here, as a pure function of chatd's reply or event (or of chatcli's own
// facts), so its exact words are unit-tested. Everything a peer controls
// goes through sanitize_for_terminal, so it is shown, never interpreted.
// Lines come without their newline unless they are a block of several.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

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
// "alice  XXXXXXX-XXXXXXX-...": the daemon's name and its key's fingerprint.
std::string render_id(const nlohmann::json& id);
// `verify`: both fingerprints and the safety number, in two rows of six
// groups, and its short code; `shown` is the peer as the user named it.
std::string render_verify(const nlohmann::json& reply, std::string_view shown);
// "Does bob show the same number? [y/N] "
std::string render_verify_question(std::string_view shown);
// After the answer: verified, or not (and nothing changed).
std::string render_verified(const nlohmann::json& reply);
std::string render_not_verified(std::string_view shown);
// Shown with no terminal to ask at (exit 0): how to confirm.
std::string render_verify_not_asked(std::string_view shown);
// `trust`: the key pinned.
std::string render_trusted(const nlohmann::json& reply);
std::string render_duration(std::int64_t seconds);
// "1 file", "2 files": a count and its noun, agreeing.
std::string count_of(std::uint64_t n, const char* singular, const char* plural);
// Time left for a person: rounded up ("<1s" below a second), never "0s"
// while time remains; empty when unknown or nothing is left.
std::string render_eta(std::optional<double> seconds_left);

// What a progress line shows.
struct ProgressFields {
    std::uint64_t bytes = 0;
    std::uint64_t total_bytes = 0;
    std::uint64_t files = 0;
    std::uint64_t total_files = 0;
    double rate = 0;  // bytes per second
    std::optional<double> eta;
};
// One line of at most `width` columns, never more (it is redrawn in place,
// and a line that wraps leaves a copy per redraw). Full width:
//   [#####.....] 45%  450 MiB / 1.0 GiB  12/100 files  110 MiB/s  ETA 5s
// Narrower: the bar shrinks, then the files, the rate, the bytes and the
// ETA go, in that order, then the bar; the percentage goes last.
std::string layout_progress(const ProgressFields& fields, std::size_t width);
// A `progress` event laid out for `width` columns.
std::string render_progress(const nlohmann::json& event, std::size_t width = 100);
// The sender's summary once the receiver has verified and published it
// all: files and size, what was there already (a resume), the time data
// flowed (from acceptance to done: not the wait for a person to accept)
// and the rate of the bytes sent in it:
// "done: 300 files, 200 MiB (12 MiB already there), 11.2 s, 17.9 MiB/s, verified by the receiver",
// then where it landed if under another name.
std::string render_done(const nlohmann::json& event);
// A transfer as both sides can name it: our number, then the start of the
// id it has on both sides, "#3 (a1b2c3d4)".
inline constexpr std::size_t kShortIdDigits = 8;
std::string short_id(const nlohmann::json& transfer);
std::string transfer_label(const nlohmann::json& transfer);
// An offer that has had no answer for a while (the peer may be down).
std::string render_waiting_for_answer(const std::string& peer);
// One transfer from `chatcli transfers`, and an incoming offer.
std::string render_transfer(const nlohmann::json& transfer);
std::string render_offer(const nlohmann::json& offer);

// A transfer's events as `chatcli transfer` tells them apart (the one
// place their "event" names are read).
enum class TransferEvent { offered, unanswered, waiting, accepted, progress, file, done, other };
TransferEvent transfer_event_kind(const nlohmann::json& event);
// The line an event prints as it comes: offered, waiting, accepted and
// done; empty for the others (drawn on the status line, or not shown).
std::string render_transfer_event(const nlohmann::json& event);
// `unanswered`: once as a line, or kept current on the status line with
// how long it has been.
std::string render_unanswered(const nlohmann::json& event, bool with_time);
// After the final reply of `transfer --no-wait`: empty unless it is the
// reply that left the transfer offered.
std::string render_transfer_reply(const nlohmann::json& reply);

// The final reply of an ok request, as the block to print (newline
// included; empty when the lines before it were the output).
std::string render_sent(const nlohmann::json& reply);      // send
std::string render_accepted(const nlohmann::json& reply);  // accept
std::string render_decided(const nlohmann::json& reply);   // reject, cancel

// chatcli's own lines, for stderr: "chatcli: " and what went wrong.
// chatd's refusal, its UTC times in local time.
std::string render_error(const nlohmann::json& reply, std::string_view fallback = "request failed");
// Text from elsewhere (a path, a walk's notice): sanitized.
std::string render_notice(std::string_view text);
// Our own words or the control client's, as they are.
std::string render_failure(std::string_view text);
enum class Said {
    unexpected_reply,   // a reply line that is not a JSON object
    connection_closed,  // chatd hung up on a follow
    closed_unanswered,  // chatd hung up before the final reply
    nothing_to_send,    // every path of a transfer was skipped
    stopped_answering,  // chatd went away mid-transfer
    empty_message,      // send: only blanks
    text_not_utf8,      // send: TEXT is not UTF-8
};
std::string render_said(Said what);
std::string render_no_transfer(std::string_view ref);
std::string render_cannot_pass_files(std::string_view why);
std::string render_too_large(std::size_t bytes);
std::string render_stopped_at_lines(std::size_t first, std::size_t last);
std::string render_line_not_utf8(std::size_t line);

// `chatcli chat`'s lines.
std::string render_chat_banner(std::string_view peer);
std::string render_chat_typed(std::int64_t now_ms, std::string_view text);
std::string render_chat_delivered(std::string_view text);
// `reply` is chatd's refusal, or not an object when it hung up first.
std::string render_chat_not_delivered(std::string_view text, const nlohmann::json& reply);
std::string render_chat_unacknowledged(std::size_t messages);

}  // namespace chat::cli
