#pragma once
// Checks on the names a peer sends in a transfer manifest, before anything
// is written: the receiving side trusts no name. Pure string logic; the
// writer also opens every component with O_NOFOLLOW relative to a
// directory fd, so a check missed here still cannot escape.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace chat {

inline constexpr std::size_t kMaxFileNameBytes = 255;
inline constexpr std::size_t kMaxPathBytes = 4095;

// Why `path` is not an acceptable relative path inside a transfer, or
// nullopt when it is: non-empty, relative, '/'-separated components that
// are non-empty, not "." or "..", at most 255 bytes, valid UTF-8, with no
// NUL or control byte except newline (names with newlines are kept).
std::optional<std::string> check_relative_path(std::string_view path);

// Why a symlink at `link_path` pointing to `target` would resolve outside
// the top-level entry it is in ("box" for "box/sub/l"), or nullopt when it
// stays inside: not absolute, and no '..' climbs above that entry, at any
// point of the target ("box/l -> ../box/x" is out: on the receiver the entry
// may be "box (1)"). A link at the top level is outside itself whatever it
// points at. Lexical, as the receiver sees names: `is_link` (when given)
// says which paths of the transfer are links, since a '..' after one climbs
// from where that link points, not from where its name is.
std::optional<std::string> check_link_target(
    std::string_view link_path, std::string_view target,
    const std::function<bool(std::string_view)>& is_link = {});

// The staging directory of transfer `transfer_id` (its shared id), inside
// the directory it is accepted into: hidden, and named for the transfer so
// a restart finds it again.
std::string staging_name(std::string_view transfer_id);

// `name`, or "name (1)", "name (2)", ... ("a.txt" -> "a (1).txt") for the
// first that `taken` says is free: an existing name is never overwritten.
std::string unused_name(const std::string& name,
                        const std::function<bool(const std::string&)>& taken);

}  // namespace chat
