#pragma once
// The UDP wire format, in one place. A datagram is either a versioned JSON
// envelope ({"chatd":2,"type":"msg"|"ack",...}) or plain UTF-8 text, as
// `nc -u` and the classic threading chat send. Decoding never throws: a bad
// datagram comes back as kind `malformed` with the reason.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chat {

inline constexpr int kWireVersion = 2;
inline constexpr std::size_t kMaxUdpPayload = 65507;  // IPv4's limit, the lower one
inline constexpr std::size_t kMaxNameBytes = 64;
inline constexpr int kMaxJsonDepth = 8;

enum class DatagramKind { message, ack, plain, offer, answer, cancel, malformed };

// A transfer offer: a summary only; the manifest itself goes over TCP once
// the offer is accepted. `id` is the transfer's id on both sides.
struct TransferOffer {
    std::uint64_t files = 0;
    std::uint64_t bytes = 0;
    std::uint64_t entries = 0;
    std::vector<std::string> names;  // top-level names, at most kMaxOfferNames
    // Which run of the sending command this is: a re-run of the same
    // transfer (to resume it) counts up, so the receiver can tell it from a
    // late copy of an offer it has already closed.
    std::uint64_t run = 1;
    bool operator==(const TransferOffer&) const = default;
};

// The receiver's reply to each copy of an offer (so it doubles as the ack):
// pending until a decision, then accepted (with where to connect and the
// one-time token) or rejected (with why), and done once published (with
// the names it was published under).
struct TransferAnswer {
    std::string state;  // pending, accepted, rejected, done
    std::string token;  // accepted
    std::uint16_t port = 0;
    std::string reason;               // rejected
    std::vector<std::string> placed;  // done: at most kMaxOfferNames
    // accepted: the receiver reads the manifest as the line after the
    // connection's header, not as a string in it (older chatd: false).
    bool manifest_line = false;
    bool operator==(const TransferAnswer&) const = default;
};

// Where a chat message stands in its sender's stream to this peer, so the
// receiver can show each sender's messages in the order they were sent
// however the network reorders or loses them. `stream` names the sender's
// store (a new one starts again at 1); `seq` counts from 1 per peer;
// `floor` is the sender's lowest seq still unacknowledged, so everything
// below it was either received or given up. seq 0: no order (old peers).
struct MessageOrderStamp {
    std::string stream;
    std::uint64_t seq = 0;
    std::uint64_t floor = 0;
    bool operator==(const MessageOrderStamp&) const = default;
};

struct DecodedDatagram {
    DatagramKind kind = DatagramKind::malformed;
    std::string id;     // message, ack, offer, answer, cancel
    std::string text;   // message, plain; cancel: why
    std::string name;   // message, offer: the sender's display name, may be empty
    std::string error;  // malformed: why, for the debug log
    TransferOffer offer;
    TransferAnswer answer;
    MessageOrderStamp order;  // message
};

inline constexpr std::size_t kMaxOfferNames = 16;

DecodedDatagram decode_datagram(std::string_view bytes);

std::string encode_message(std::string_view id, std::string_view text, std::string_view name,
                           const MessageOrderStamp& order = {});
std::string encode_ack(std::string_view id);
std::string encode_offer(std::string_view id, const TransferOffer& offer, std::string_view name);
std::string encode_answer(std::string_view id, const TransferAnswer& answer);
// The sender gave up on a transfer: the receiver stops and cleans up.
std::string encode_cancel(std::string_view id, std::string_view reason);
// Plain text ends with a newline so that `nc -u` shows one message a line.
std::string encode_plain(std::string_view text);

// A bundle: several envelopes in one datagram, one per line, so a burst
// of messages (or of their acks) costs a datagram and a system call per
// bundle rather than per message. Bundles stay within one Ethernet frame,
// so a lost packet costs no more messages than fit in it.
inline constexpr std::size_t kBundleBytes = 1400;
inline constexpr std::size_t kMaxBundled = 64;

// Joins envelopes, in order, a line each, into as few datagrams of at most
// `budget` bytes and kMaxBundled envelopes as they fit in; one envelope
// larger than the budget goes alone.
std::vector<std::string> bundle_envelopes(const std::vector<std::string>& envelopes,
                                          std::size_t budget = kBundleBytes);

// Every envelope in a datagram: one for a lone envelope or plain text, one
// per line for a bundle. A bundle with more than kMaxBundled lines is one
// malformed datagram; a bad line is malformed alone.
std::vector<DecodedDatagram> decode_datagrams(std::string_view bytes);

namespace detail {
// One envelope through the json parser alone, without the fast path for
// chatd's own layout: for the tests and the fuzzer, which check both agree.
DecodedDatagram decode_envelope_generic(std::string_view bytes);
}  // namespace detail

// Ids are 16 to 64 lowercase hex digits; ours are 32 (128 random bits).
bool is_valid_message_id(std::string_view id);

// The sender's clock when it made message id `id`: chatd's ids are 32 hex
// digits starting with the time in milliseconds (48 bits). Another form,
// or a time more than a day after `received_ms` or a year before it (an
// id of random digits, from a chatd before the clock prefix), is no clock.
std::optional<std::int64_t> message_id_clock_ms(std::string_view id, std::int64_t received_ms);

// True when JSON-looking bytes nest deeper than max_depth; strings are
// skipped, so brackets inside them do not count.
bool json_nesting_exceeds(std::string_view bytes, int max_depth);

}  // namespace chat
