#pragma once
// The control protocol between chatcli and chatd: newline-delimited JSON
// over a Unix stream socket. The client writes one request line; the daemon
// answers with zero or more {"message":{...}} lines and, except while
// following, one final line {"ok":true,...} or {"ok":false,"code":...,"error":...}.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace chat {

// Large enough for a transfer manifest of a few hundred thousand files.
inline constexpr std::size_t kMaxRequestBytes = 32 << 20;

// Most messages one `send` request may carry in `texts`.
inline constexpr std::size_t kMaxSendBatch = 10'000;

// One message (`text`), or a batch of them (`texts`, in order) to one peer:
// a script's burst then costs one request and one commit, not one each.
struct SendRequest {
    std::string peer;
    std::string text;
    bool plain = false;
    bool wait = true;
    double timeout_seconds = 10;
    std::vector<std::string> texts;
    bool operator==(const SendRequest&) const = default;
};

// Received messages, oldest first: the newest `limit` of them, then, with
// follow, new ones as they arrive. `peer` (optional) keeps only that peer's.
struct InboxRequest {
    std::size_t limit = 100;
    bool follow = false;
    std::string peer;
    bool operator==(const InboxRequest&) const = default;
};

struct HistoryRequest {
    std::string peer;
    std::size_t limit = 100;
    bool operator==(const HistoryRequest&) const = default;
};

struct StatusRequest {
    bool operator==(const StatusRequest&) const = default;
};

struct PeersRequest {
    bool operator==(const PeersRequest&) const = default;
};

// The daemon's own identity: its key's fingerprint, public key and name.
struct IdRequest {
    bool operator==(const IdRequest&) const = default;
};

// The safety number of our key and the peer's, with both fingerprints;
// with confirm, the peer's key is marked verified (the user compared). A
// confirm that gives `safety_number` (the one the user was shown) takes
// effect only if it is still the number: the key did not change meanwhile.
struct VerifyRequest {
    std::string peer;
    bool confirm = false;
    std::string safety_number;
    bool operator==(const VerifyRequest&) const = default;
};

// Pins the key with this fingerprint (a device ID, as `chatcli id` prints
// it) for `peer`, verified: before first contact, or over a changed key.
struct TrustRequest {
    std::string peer;
    std::string fingerprint;
    bool operator==(const TrustRequest&) const = default;
};

// Offer files and folders to a peer. The manifest lists them; the daemon
// then answers {"send_fds":N} and the client passes the N descriptors of the
// manifest's files, in order, as SCM_RIGHTS.
//
// encode_request writes the manifest as the line after the request's
// ({"manifest_follows":true}): megabytes of JSON, which as a string field
// were escaped by chatcli and unescaped by chatd. parse_request sees only
// the first line and sets manifest_follows; the caller reads the next line
// into `manifest`. A request with the manifest as a string is read too.
struct TransferRequest {
    std::string peer;
    std::string manifest;  // encode_manifest()
    std::size_t fds = 0;
    bool wait = true;               // stream progress until done; else return once offered
    bool manifest_follows = false;  // parsed: the next line is the manifest
    bool operator==(const TransferRequest&) const = default;
};

// The transfer request as a chatd older than manifest_follows reads it: the
// manifest as a string field. chatcli sends it again in this form when chatd
// answers kManifestMissing (a daemon not restarted after an upgrade).
std::string encode_transfer_request_with_manifest_field(const TransferRequest& request);
inline constexpr std::string_view kManifestMissing = "missing string field 'manifest'";

struct TransfersRequest {
    bool watch = false;
    bool operator==(const TransfersRequest&) const = default;
};

// What a DecideRequest asks; its name is the request's "cmd".
enum class DecideAction { accept, reject, cancel };
// The one place the names are written: "accept", "reject", "cancel".
std::string_view to_string(DecideAction action);
// nullopt for a name that is none of the above.
std::optional<DecideAction> decide_action_from_string(std::string_view name);

// accept (with an optional directory), reject or cancel transfer `id`, or
// the one whose shared id starts with `id_prefix`.
struct DecideRequest {
    DecideAction action = DecideAction::accept;
    std::uint64_t id = 0;
    std::string to;
    std::string id_prefix;  // lowercase hex, 6 to 32 digits; sent as "id":"..."
    bool operator==(const DecideRequest&) const = default;
};

// How a person names a transfer: our number ("3"), or at least 6 hex
// digits from the start of the id both sides share ("a1b2c3"); a text of 6
// or more decimal digits may be either. False for anything else.
inline constexpr std::size_t kMinIdPrefixDigits = 6;
bool read_transfer_ref(std::string_view text, std::uint64_t& number, std::string& id_prefix);

// Tests only (chatd honours it when started with CHATD_TEST_HOOKS=1):
// hold one of the daemon's loops for a while, as a stuck thread would.
struct StallRequest {
    std::string loop;  // receiver, sender, store or control
    double seconds = 1;
    bool operator==(const StallRequest&) const = default;
};

using Request = std::variant<SendRequest, InboxRequest, HistoryRequest, StatusRequest, PeersRequest,
                             IdRequest, TransferRequest, TransfersRequest, DecideRequest,
                             StallRequest, VerifyRequest, TrustRequest>;

class ProtocolError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// One line, ending in '\n'.
std::string encode_request(const Request& request);
// Throws ProtocolError saying what is wrong with the line.
Request parse_request(std::string_view line);

// Reply error codes; chatcli maps them to exit codes.
namespace codes {
inline constexpr const char* bad_request = "bad_request";  // usage: exit 2
inline constexpr const char* bad_peer = "bad_peer";        // usage: exit 2
inline constexpr const char* too_large = "too_large";      // usage: exit 2
inline constexpr const char* timeout = "timeout";          // failed: exit 1
inline constexpr const char* failed = "failed";            // failed: exit 1
// The peer's key changed (or is not trusted): its messages wait. Exit 1.
inline constexpr const char* key_changed = "key_changed";
}  // namespace codes

// A message's direction, as the store's rows and the replies name it: the
// one place these names are written.
inline constexpr const char* kMessageIn = "in";
inline constexpr const char* kMessageOut = "out";

// A stored message as the client sees it.
struct MessageView {
    std::int64_t id = 0;    // local, increasing
    std::string direction;  // kMessageIn or kMessageOut
    std::string peer;       // ip:port
    std::string name;       // the peer's name, if known
    std::string text;
    std::int64_t ts_ms = 0;  // received (in) or created (out)
    bool plain = false;
    std::string state;  // in: received; out: queued, delivered, sent, expired
    // The sender's clock: from an envelope's id (in), ts_ms (out); 0 when
    // unknown (a plain message carries no clock).
    std::int64_t sent_ms = 0;
    bool incoming() const { return direction == kMessageIn; }
    bool outgoing() const { return direction == kMessageOut; }
    bool operator==(const MessageView&) const = default;
};

// {"id","direction","from"|"to","name","text","ts","sent_ts" (RFC 3339, UTC;
// sent_ts only when known),"plain","state"}
nlohmann::json message_to_json(const MessageView& message);
MessageView message_from_json(const nlohmann::json& object);

// One JSON object as a protocol line: invalid UTF-8 replaced, not thrown
// on (peer text is checked where it enters), ending in '\n'.
std::string reply_line(const nlohmann::json& object);
std::string error_reply(std::string_view code, std::string_view message);

}  // namespace chat
