#include "text.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>

namespace chat {
namespace {

// Length of the UTF-8 sequence starting at s[i] and its code point, or 0 if
// the sequence is invalid (overlong, surrogate, out of range, truncated).
std::size_t decode_utf8(std::string_view s, std::size_t i, char32_t& cp) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char b0 = byte(i);
    std::size_t len;
    char32_t min;
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    } else if ((b0 & 0xE0) == 0xC0) {
        len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (i + len > s.size()) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        const unsigned char b = byte(i + k);
        if ((b & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

// Eight bytes at a time: messages and names are mostly ASCII with nothing
// to escape, and these scans ran byte by byte on every message, both ways.
constexpr std::uint64_t kEveryByte = 0x0101'0101'0101'0101;
constexpr std::uint64_t kHighBits = 0x8080'8080'8080'8080;

std::uint64_t load8(std::string_view s, std::size_t at) {
    std::uint64_t word;
    std::memcpy(&word, s.data() + at, sizeof word);
    return word;
}

// Nonzero if any byte of the word is below `limit` (at most 0x80); exact
// about whether one is, not about which.
constexpr std::uint64_t any_byte_below(std::uint64_t word, std::uint64_t limit) {
    return (word - kEveryByte * limit) & ~word & kHighBits;
}

bool needs_json_escape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

// How many bytes a JSON string spends on byte c: 1, 2 for the short
// escapes, 6 for \u00XX.
std::size_t escaped_size(unsigned char c) {
    if (!needs_json_escape(c)) return 1;
    return c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' ? 2 : 6;
}

// The first byte at or after `at` that a JSON string cannot hold as it is
// (the quote, the backslash, a control character), or s.size().
std::size_t next_json_special(std::string_view s, std::size_t at) {
    for (; at + 8 <= s.size(); at += 8) {
        const std::uint64_t word = load8(s, at);
        if ((any_byte_below(word, 0x20) | any_byte_below(word ^ (kEveryByte * '"'), 1) |
             any_byte_below(word ^ (kEveryByte * '\\'), 1)) != 0)
            break;
    }
    while (at < s.size() && !needs_json_escape(static_cast<unsigned char>(s[at]))) ++at;
    return at;
}

bool is_visible_hazard(char32_t cp) {
    // C1 controls, and bidi embedding/override/isolate marks that can make
    // text render in a misleading order.
    return (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

bool is_valid_utf8(std::string_view bytes) {
    char32_t cp;
    for (std::size_t i = 0; i < bytes.size();) {
        if (i + 8 <= bytes.size() && (load8(bytes, i) & kHighBits) == 0) {
            i += 8;  // all ASCII
            continue;
        }
        const std::size_t len = decode_utf8(bytes, i, cp);
        if (len == 0) return false;
        i += len;
    }
    return true;
}

std::string sanitize_for_terminal(std::string_view text, std::string_view continuation) {
    std::string out;
    out.reserve(text.size());
    char buf[16];
    for (std::size_t i = 0; i < text.size();) {
        char32_t cp;
        const std::size_t len = decode_utf8(text, i, cp);
        if (len == 0) {
            std::snprintf(buf, sizeof buf, "<%02X>", static_cast<unsigned char>(text[i]));
            out += buf;
            ++i;
            continue;
        }
        if (cp == '\n') {
            out += '\n';
            out += continuation;
        } else if (cp == '\t') {
            out += '\t';
        } else if (cp < 0x20) {
            out += '^';
            out += static_cast<char>(cp + 0x40);
        } else if (cp == 0x7F) {
            out += "^?";
        } else if (is_visible_hazard(cp)) {
            std::snprintf(buf, sizeof buf, "<U+%04X>", static_cast<unsigned>(cp));
            out += buf;
        } else {
            out.append(text.substr(i, len));
        }
        i += len;
    }
    return out;
}

std::string_view trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

std::string format_bytes(std::uint64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(bytes);
    int unit = 0;
    while (value >= 1024 && unit < 4) value /= 1024, ++unit;
    char text[32];
    std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
    return text;
}

std::string format_rfc3339(std::int64_t unix_ms) {
    const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                  static_cast<int>(unix_ms % 1000));
    return buf;
}

namespace {
std::optional<std::int64_t> read_rfc3339(std::string_view text) {
    // YYYY-MM-DDTHH:MM:SS[.mmm]Z, digits where digits go.
    const auto digits = [&](std::size_t at, std::size_t count, int& out) {
        out = 0;
        for (std::size_t i = at; i < at + count; ++i) {
            if (i >= text.size() || text[i] < '0' || text[i] > '9') return false;
            out = out * 10 + (text[i] - '0');
        }
        return true;
    };
    std::tm utc{};
    int millis = 0;
    const bool fields = text.size() >= 20 && digits(0, 4, utc.tm_year) && text[4] == '-' &&
                        digits(5, 2, utc.tm_mon) && text[7] == '-' && digits(8, 2, utc.tm_mday) &&
                        text[10] == 'T' && digits(11, 2, utc.tm_hour) && text[13] == ':' &&
                        digits(14, 2, utc.tm_min) && text[16] == ':' && digits(17, 2, utc.tm_sec);
    const bool tail =
        (text.size() == 20 && text[19] == 'Z') ||
        (text.size() == 24 && text[19] == '.' && digits(20, 3, millis) && text[23] == 'Z');
    if (!fields || !tail) return std::nullopt;
    utc.tm_year -= 1900;
    utc.tm_mon -= 1;
    return static_cast<std::int64_t>(timegm(&utc)) * 1000 + millis;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

std::int64_t parse_rfc3339(std::string_view text) { return read_rfc3339(text).value_or(0); }

std::string format_person_time(std::int64_t unix_ms, long utc_offset_seconds) {
    // Whole seconds, rounded down (also before 1970), then shifted.
    const std::int64_t seconds = (unix_ms >= 0 ? unix_ms : unix_ms - 999) / 1000;
    const std::time_t shifted = static_cast<std::time_t>(seconds + utc_offset_seconds);
    std::tm t{};
    gmtime_r(&shifted, &t);
    char text[40];
    std::snprintf(text, sizeof text, "%04d-%02d-%02d %02d:%02d:%02d", t.tm_year + 1900,
                  t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec);
    return text;
}

std::string format_local_time(std::int64_t unix_ms) {
    const std::time_t seconds =
        static_cast<std::time_t>((unix_ms >= 0 ? unix_ms : unix_ms - 999) / 1000);
    std::tm local{};
    localtime_r(&seconds, &local);
    return format_person_time(unix_ms, local.tm_gmtoff);
}

std::string localize_times(std::string_view text) {
    std::string out;
    std::size_t copied = 0;
    for (std::size_t i = 0; i + 20 <= text.size(); ++i) {
        if (!is_digit(text[i]) || (i > 0 && is_digit(text[i - 1]))) continue;
        for (const std::size_t length : {std::size_t{24}, std::size_t{20}}) {
            if (i + length > text.size()) continue;
            if (const auto ms = read_rfc3339(text.substr(i, length))) {
                out.append(text.substr(copied, i - copied));
                out += format_local_time(*ms);
                copied = i + length;
                i = copied - 1;
                break;
            }
        }
    }
    out.append(text.substr(copied));
    return out;
}

// A JSON string for text that is UTF-8 already: only the quote, the
// backslash and control characters are escaped. Sized first, then written
// in place: a manifest inside a request has a quote every few bytes, and
// two appends per escape were most of the time.
void append_json_string(std::string& out, std::string_view text) {
    std::size_t size = text.size() + 2;
    for (std::size_t i = next_json_special(text, 0); i < text.size();
         i = next_json_special(text, i + 1))
        size += escaped_size(static_cast<unsigned char>(text[i])) - 1;
    const std::size_t start = out.size();
    out.resize(start + size);
    char* p = out.data() + start;
    *p++ = '"';
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t special = next_json_special(text, i);
        std::memcpy(p, text.data() + i, special - i);
        p += special - i;
        if (special == text.size()) break;
        const auto c = static_cast<unsigned char>(text[special]);
        *p++ = '\\';
        switch (c) {
            case '"':
            case '\\':
                *p++ = static_cast<char>(c);
                break;
            case '\n':
                *p++ = 'n';
                break;
            case '\r':
                *p++ = 'r';
                break;
            case '\t':
                *p++ = 't';
                break;
            default:
                *p++ = 'u';
                *p++ = '0';
                *p++ = '0';
                *p++ = kHexDigits[c >> 4];
                *p++ = kHexDigits[c & 0xf];
        }
        i = special + 1;
    }
    *p = '"';
}

namespace {

// The byte a short escape stands for (the letter after the backslash), or
// 0 if there is no such escape.
char unescaped(char letter) {
    switch (letter) {
        case '"':
        case '\\':
        case '/':
            return letter;
        case 'b':
            return '\b';
        case 'f':
            return '\f';
        case 'n':
            return '\n';
        case 'r':
            return '\r';
        case 't':
            return '\t';
        default:
            return 0;
    }
}

// The value of \uXXXX at text[at], if it is one below U+0080: those above
// are left to json (they may need a surrogate pair).
std::optional<char> ascii_unicode_escape(std::string_view text, std::size_t at) {
    if (at + 6 > text.size()) return std::nullopt;
    unsigned value = 0;
    for (std::size_t k = at + 2; k < at + 6; ++k) {
        const char h = text[k];
        value <<= 4;
        if (h >= '0' && h <= '9') {
            value |= static_cast<unsigned>(h - '0');
        } else if (h >= 'a' && h <= 'f') {
            value |= static_cast<unsigned>(h - 'a' + 10);
        } else if (h >= 'A' && h <= 'F') {
            value |= static_cast<unsigned>(h - 'A' + 10);
        } else {
            return std::nullopt;
        }
    }
    if (value >= 0x80) return std::nullopt;
    return static_cast<char>(value);
}

}  // namespace

// Checked and sized first, then written in place, as append_json_string.
bool read_json_string(std::string_view text, std::size_t& at, std::string& out) {
    if (at >= text.size() || text[at] != '"') return false;
    std::size_t size = 0;
    std::size_t end = at + 1;  // the closing quote, once found
    for (;;) {
        const std::size_t special = next_json_special(text, end);
        size += special - end;
        if (special == text.size() || (text[special] == '\\' && special + 1 == text.size()))
            return false;
        if (text[special] == '"') {
            end = special;
            break;
        }
        if (text[special] != '\\') return false;  // a control character
        const char letter = text[special + 1];
        if (letter == 'u') {
            if (!ascii_unicode_escape(text, special)) return false;
            end = special + 6;
        } else if (unescaped(letter) != 0) {
            end = special + 2;
        } else {
            return false;
        }
        ++size;
    }
    const std::size_t start = out.size();
    out.resize(start + size);
    char* p = out.data() + start;
    for (std::size_t i = at + 1; i < end;) {
        const std::size_t special = next_json_special(text, i);
        const std::size_t stop = std::min(special, end);
        std::memcpy(p, text.data() + i, stop - i);
        p += stop - i;
        if (stop == end) break;
        if (text[special + 1] == 'u') {
            *p++ = *ascii_unicode_escape(text, special);
            i = special + 6;
        } else {
            *p++ = unescaped(text[special + 1]);
            i = special + 2;
        }
    }
    at = end + 1;
    return true;
}

}  // namespace chat
