#pragma once
// The pieces both ends of a transfer's data stream share (see
// transfer_stream.hpp): buffered line and byte I/O on the connection,
// checked reads of the peer's JSON lines, progress batching. Each object
// belongs to the one thread of the worker process running the job.
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "errno_text.hpp"
#include "transfer_stream.hpp"

namespace chat {

class ContentHash;

namespace stream_io {

inline constexpr std::size_t kChunkBytes = 256 * 1024;

// A StreamError for a line of the peer's that breaks the protocol.
StreamError bad_peer(const std::string& why);

// A buffer left uninitialised: every job of a transfer made two of 256 KiB,
// and zeroing them was about 1 % of a small-file transfer's CPU.
class ChunkBuffer {
public:
    ChunkBuffer() : data_(std::make_unique_for_overwrite<char[]>(kChunkBytes)) {}
    char* data() { return data_.get(); }
    std::size_t size() const { return kChunkBytes; }

private:
    std::unique_ptr<char[]> data_;
};

// A line from the peer outside the layouts of stream_lines (the end line,
// an error verdict, a resume), as a JSON object read through checked
// getters: a missing or mistyped field is the peer's protocol error, never
// a json exception or a silent default (ARCHITECTURE.md, peer input).
class PeerLine {
public:
    // Throws StreamError ("the peer sent a bad line") unless it is an object.
    explicit PeerLine(std::string_view text);

    bool has(std::string_view key) const;
    std::uint64_t count(std::string_view key) const;
    std::uint64_t count_or(std::string_view key, std::uint64_t absent) const;
    bool flag_or(std::string_view key, bool absent) const;
    const std::string& text(std::string_view key) const;
    std::string text_or(std::string_view key, const std::string& absent) const;
    // The non-negative integer `key` of the object member `object`; `absent`
    // when the object or its key is not there.
    std::uint64_t count_in_or(std::string_view object, std::string_view key,
                              std::uint64_t absent) const;

private:
    // The member, nullptr when absent.
    const nlohmann::json* find(std::string_view key) const;

    nlohmann::json doc_;
};

// Timeouts turn a dead peer into an error; no Nagle delay, since each file
// ends in a small line that waits for a small verdict.
void set_socket_options(int fd, int seconds);

// Writes one JSON line, as json dumps it (sorted keys).
std::string json_line(const nlohmann::json& doc);
// Writes `text` whole, or throws StreamError ("send failed: ...").
void send_all(int fd, std::string_view text);

// Buffered reads of lines and exact byte counts from one descriptor.
class Reader {
public:
    // `before_wait` runs before each read that may block: the place to send
    // what the peer is waiting for.
    explicit Reader(int fd, std::function<void()> before_wait = {})
        : fd_(fd), before_wait_(std::move(before_wait)) {}

    // The next line without its newline, valid until the next read.
    std::string_view text_line();
    // A whole line if one has arrived, reading only what is there already;
    // nullopt otherwise (a partial line stays buffered).
    std::optional<std::string_view> try_text_line();

    // Hands exactly `count` bytes to `sink`, a chunk at a time.
    template <class Sink>
    void bytes(std::uint64_t count, Sink sink) {
        while (count > 0) {
            if (begin_ == end_) {
                begin_ = end_ = 0;
                fill();
            }
            const auto take =
                static_cast<std::size_t>(std::min<std::uint64_t>(count, end_ - begin_));
            sink(buffer_.data() + begin_, take);
            begin_ += take;
            count -= take;
        }
    }

private:
    void fill();

    int fd_;
    ChunkBuffer buffer_;
    std::function<void()> before_wait_;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    std::string line_;  // kept: most lines are a few dozen bytes
};

// Buffered writes that never block while the peer has something to say:
// while flushing, readable input goes to `on_readable` first, so two sides
// that both write cannot wait on each other.
class Writer {
public:
    Writer(int fd, int timeout_seconds, std::function<void()> on_readable);

    void append(const char* data, std::size_t size) {
        out_.insert(out_.end(), data, data + size);
        if (out_.size() >= kChunkBytes) flush();
    }
    void line(const std::string& text) { append(text.data(), text.size()); }
    void flush();

private:
    int fd_;
    int timeout_ms_;
    std::function<void()> on_readable_;
    std::vector<char> out_;
};

// Hashes [0, size) of fd into `hash`, with a caller's buffer; `path` names
// the file in the error.
void hash_prefix(int fd, std::uint64_t size, ContentHash& hash, ChunkBuffer& buffer,
                 const std::string& path);

// Gathers progress into reports of at least 4 MiB or 64 files: one message
// per small file would cost more than the file.
class ProgressBatcher {
public:
    explicit ProgressBatcher(const StreamProgress& report) : report_(report) {}
    ~ProgressBatcher() { flush(); }
    ProgressBatcher(const ProgressBatcher&) = delete;
    ProgressBatcher& operator=(const ProgressBatcher&) = delete;

    void bytes(std::int64_t n);
    // A resumed file's start: counted as done, not as moved.
    void already_there(std::uint64_t n);
    void file_done(std::size_t index);
    void flush();

private:
    static constexpr std::size_t kFilesPerReport = 64;
    const StreamProgress& report_;
    std::int64_t pending_ = 0;
    std::uint64_t there_ = 0;
    std::vector<std::size_t> verified_;
};

}  // namespace stream_io
}  // namespace chat
