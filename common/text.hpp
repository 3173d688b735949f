#pragma once
// Text helpers shared by the daemon and the client: UTF-8 checks and making
// untrusted text safe to print on a terminal.
#include <cstdint>
#include <string>
#include <string_view>

namespace chat {

// Lowercase hex digits, by value: for ids, hashes and \u escapes.
inline constexpr char kHexDigits[] = "0123456789abcdef";

bool is_valid_utf8(std::string_view bytes);

// Makes every control or escape character visible instead of letting the
// terminal interpret it: C0 controls as ^X, DEL as ^?, C1 controls and
// bidi overrides as <U+XXXX>, invalid UTF-8 bytes as <XX>. A newline stays
// a newline but is followed by `continuation`, so a peer cannot forge a
// line that looks like it came from someone else.
std::string sanitize_for_terminal(std::string_view text, std::string_view continuation = "  ");

std::string_view trim(std::string_view text);

// Appends `text`, which must be valid UTF-8, as a JSON string: only the
// quote, the backslash and control characters are escaped. For the lines
// written per message or per file, where building a json document first
// cost more than the work itself.
void append_json_string(std::string& out, std::string_view text);

// Reads the JSON string that starts at text[at] (its opening quote) into
// `out` and moves `at` past its closing quote. Escapes of characters above
// U+007F are not read: false, as for anything else that is not a whole
// string, and the caller leaves the text to a full JSON parser. The bytes
// are not checked for UTF-8. For the readers of chatd's own layouts.
bool read_json_string(std::string_view text, std::size_t& at, std::string& out);

// "512 B", "1.5 MiB": sizes for people.
std::string format_bytes(std::uint64_t bytes);

// Milliseconds since the Unix epoch as RFC 3339 in UTC, e.g.
// 2026-11-26T18:53:36.123Z.
std::string format_rfc3339(std::int64_t unix_ms);
// The form format_rfc3339 writes (milliseconds optional) back to
// milliseconds; 0 for anything else.
std::int64_t parse_rfc3339(std::string_view text);

// Times for people, one form everywhere, to the second:
// "2026-12-03 18:04:05" at `utc_offset_seconds` east of UTC.
std::string format_person_time(std::int64_t unix_ms, long utc_offset_seconds);
// The same in the local time zone (TZ, else /etc/localtime).
std::string format_local_time(std::int64_t unix_ms);
// `text` with each RFC 3339 UTC time in it (as the daemon's errors name
// them) written as format_local_time does.
std::string localize_times(std::string_view text);

}  // namespace chat
