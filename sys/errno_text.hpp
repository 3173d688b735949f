#pragma once
// The text of the current errno, for error messages. Any thread (strerror
// of glibc's locale-independent messages).
#include <cerrno>
#include <cstring>
#include <string>

namespace chat {

inline std::string errno_text() { return std::strerror(errno); }

}  // namespace chat
