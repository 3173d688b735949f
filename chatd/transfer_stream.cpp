#include "transfer_stream.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "content_hash.hpp"
#include "flat_json.hpp"
#include "staging.hpp"
#include "stream_lines.hpp"

namespace chat {
namespace {

using nlohmann::json;

constexpr std::size_t kChunkBytes = 256 * 1024;
constexpr std::size_t kMaxLineBytes = 1 << 20;
constexpr std::int64_t kProgressEveryBytes = 4 << 20;
constexpr std::uint64_t kWritebackBytes = 8 << 20;

std::string errno_text() { return std::strerror(errno); }

// A buffer left uninitialised: every job of a transfer made two of 256 KiB,
// and zeroing them was about 1 % of a small-file transfer's CPU.
class ChunkBuffer {
public:
    ChunkBuffer() : data_(std::make_unique_for_overwrite<char[]>(kChunkBytes)) {}
    char* data() { return data_.get(); }
    std::size_t size() const { return kChunkBytes; }
    char& operator[](std::size_t i) { return data_[i]; }

private:
    std::unique_ptr<char[]> data_;
};

// A line outside the layouts of stream_lines (the end line, an error verdict,
// a resume): a flat object read without json's lexer when it can be.
json parse_line(std::string_view text) {
    auto flat = read_flat_object(text);
    json doc = flat ? std::move(*flat) : json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) throw StreamError("the peer sent a bad line");
    return doc;
}

// Timeouts turn a dead peer into an error; no Nagle delay, since each file
// ends in a small line that waits for a small verdict.
void set_socket_options(int fd, int seconds) {
    const timeval tv{seconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    const int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);  // fails harmlessly on non-TCP
}

// Buffered reads of lines and exact byte counts from one descriptor.
class Reader {
public:
    // `before_wait` runs before each read that may block: the place to send
    // what the peer is waiting for.
    explicit Reader(int fd, std::function<void()> before_wait = {})
        : fd_(fd), before_wait_(std::move(before_wait)) {}

    json line() { return parse_line(text_line()); }

    // The next line without its newline, valid until the next read.
    std::string_view text_line() {
        line_.clear();
        for (;;) {
            const char* data = buffer_.data();
            if (const void* newline = std::memchr(data + begin_, '\n', end_ - begin_)) {
                const auto length =
                    static_cast<std::size_t>(static_cast<const char*>(newline) - (data + begin_));
                line_.append(data + begin_, length);
                begin_ += length + 1;
                return line_;
            }
            line_.append(data + begin_, end_ - begin_);
            begin_ = end_ = 0;
            if (line_.size() > kMaxLineBytes) throw StreamError("the peer sent an over-long line");
            fill();
        }
    }

    // A whole line if one has arrived, reading only what is there already;
    // nullopt otherwise (a partial line stays buffered).
    std::optional<std::string_view> try_text_line() {
        for (;;) {
            if (std::memchr(buffer_.data() + begin_, '\n', end_ - begin_)) return text_line();
            if (begin_ > 0) {
                std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
                end_ -= begin_;
                begin_ = 0;
            }
            if (end_ == buffer_.size()) throw StreamError("the peer sent an over-long line");
            const ssize_t n =
                ::recv(fd_, buffer_.data() + end_, buffer_.size() - end_, MSG_DONTWAIT);
            if (n > 0) {
                end_ += static_cast<std::size_t>(n);
                continue;
            }
            if (n == 0) throw StreamError("the peer closed the connection");
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
            throw StreamError("receive failed: " + errno_text());
        }
    }

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
            sink(&buffer_[begin_], take);
            begin_ += take;
            count -= take;
        }
    }

private:
    void fill() {
        if (before_wait_) before_wait_();
        for (;;) {
            const ssize_t n = ::read(fd_, buffer_.data() + end_, buffer_.size() - end_);
            if (n > 0) {
                end_ += static_cast<std::size_t>(n);
                return;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n == 0) throw StreamError("the peer closed the connection");
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                throw StreamError("the peer stopped answering");
            throw StreamError("receive failed: " + errno_text());
        }
    }

    int fd_;
    ChunkBuffer buffer_;
    std::function<void()> before_wait_;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    std::string line_;  // kept: most lines are a few dozen bytes
};

void send_line(int fd, const json& doc) {
    const std::string text = doc.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    if (!write_all(fd, text.data(), text.size())) throw StreamError("send failed: " + errno_text());
}

// Buffered writes that never block while the peer has something to say:
// while flushing, readable input goes to `on_readable` first, so two sides
// that both write cannot wait on each other.
class Writer {
public:
    Writer(int fd, int timeout_seconds, std::function<void()> on_readable)
        : fd_(fd), timeout_ms_(timeout_seconds * 1000), on_readable_(std::move(on_readable)) {
        out_.reserve(kChunkBytes + 4096);
    }

    void append(const char* data, std::size_t size) {
        out_.insert(out_.end(), data, data + size);
        if (out_.size() >= kChunkBytes) flush();
    }
    void line(const json& doc) {
        const std::string text = doc.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
        append(text.data(), text.size());
    }
    void line(const std::string& text) { append(text.data(), text.size()); }

    void flush() {
        std::size_t done = 0;
        while (done < out_.size()) {
            pollfd p{fd_, POLLIN | POLLOUT, 0};
            const int ready = ::poll(&p, 1, timeout_ms_);
            if (ready < 0 && errno == EINTR) continue;
            if (ready < 0) throw StreamError("poll failed: " + errno_text());
            if (ready == 0) throw StreamError("the peer stopped answering");
            if (p.revents & POLLIN) on_readable_();
            if (!(p.revents & (POLLOUT | POLLERR | POLLHUP))) continue;
            const ssize_t n =
                ::send(fd_, out_.data() + done, out_.size() - done, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0) {
                done += static_cast<std::size_t>(n);
            } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                throw StreamError("send failed: " + errno_text());
            }
        }
        out_.clear();
    }

private:
    int fd_;
    int timeout_ms_;
    std::function<void()> on_readable_;
    std::vector<char> out_;
};

// Hashes [0, size) of fd into `hash`, with a caller's buffer.
void hash_prefix(int fd, std::uint64_t size, ContentHash& hash, ChunkBuffer& buffer,
                 const std::string& path) {
    std::uint64_t done = 0;
    while (done < size) {
        const auto want =
            static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - done));
        const ssize_t n = ::pread(fd, buffer.data(), want, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            throw StreamError("cannot read back '" + path +
                              "': " + (n == 0 ? "too short" : errno_text()));
        hash.update(buffer.data(), static_cast<std::size_t>(n));
        done += static_cast<std::uint64_t>(n);
    }
}

class ProgressBatcher {
public:
    explicit ProgressBatcher(const StreamProgress& report) : report_(report) {}
    ~ProgressBatcher() { flush(); }
    void bytes(std::int64_t n) {
        pending_ += n;
        if (pending_ >= kProgressEveryBytes || pending_ <= -kProgressEveryBytes) flush();
    }
    void already_there(std::uint64_t n) {
        there_ += n;
        bytes(static_cast<std::int64_t>(n));
    }
    void file_done(std::size_t index) {
        verified_.push_back(index);
        if (verified_.size() >= kFilesPerReport) flush();
    }
    void flush() {
        if (pending_ == 0 && verified_.empty()) return;
        report_(std::exchange(pending_, 0), verified_, std::exchange(there_, 0));
        verified_.clear();
    }

private:
    static constexpr std::size_t kFilesPerReport = 64;
    const StreamProgress& report_;
    std::int64_t pending_ = 0;
    std::uint64_t there_ = 0;
    std::vector<std::size_t> verified_;
};

// Holds a sender to a byte rate by sleeping once it gets ahead. The rate
// may change meanwhile (`updates`): it then counts from the change.
class Pacer {
public:
    using Clock = std::chrono::steady_clock;
    Pacer(std::uint64_t bytes_per_second, std::function<std::optional<std::uint64_t>()> updates)
        : rate_(bytes_per_second), updates_(std::move(updates)) {}
    void sent(std::size_t bytes) {
        sent_ += bytes;
        for (;;) {
            // Asked unlimited too: a job that started without a limit may get one.
            if (const auto now = Clock::now(); updates_ && now - asked_ >= kAskEvery) {
                asked_ = now;
                if (const auto rate = updates_(); rate && *rate != rate_) {
                    rate_ = *rate;
                    start_ = Clock::now();
                    sent_ = 0;
                }
            }
            if (rate_ == 0) return;
            const auto due =
                start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                             static_cast<double>(sent_) / static_cast<double>(rate_)));
            const auto now = Clock::now();
            if (due <= now) return;
            // In slices, so a new rate takes effect soon even at a slow one.
            std::this_thread::sleep_until(std::min(due, now + kLongestSleep));
        }
    }

private:
    static constexpr auto kLongestSleep = std::chrono::milliseconds(100);
    static constexpr auto kAskEvery = std::chrono::milliseconds(20);  // a syscall each
    Clock::time_point asked_{};
    std::uint64_t rate_;
    std::function<std::optional<std::uint64_t>()> updates_;
    std::uint64_t sent_ = 0;
    Clock::time_point start_ = Clock::now();
};

int connect_to(const std::string& host, std::uint16_t port, int timeout_seconds) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
        throw StreamError("cannot resolve " + host + ": " + gai_strerror(rc));
    }
    std::string why = "no address";
    for (addrinfo* a = found; a; a = a->ai_next) {
        const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        set_socket_options(fd, timeout_seconds);  // connect honours the send timeout
        if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            ::freeaddrinfo(found);
            return fd;
        }
        why = errno_text();
        ::close(fd);
    }
    ::freeaddrinfo(found);
    throw StreamError("cannot connect to " + host + ":" + service + ": " + why);
}

}  // namespace

std::string encode_stream_header(const StreamHeader& h) {
    return json{{"transfer", h.transfer}, {"token", h.token}, {"files", h.files}}.dump() + "\n";
}

StreamHeader decode_stream_header(const std::string& line) {
    const json doc = json::parse(line, nullptr, false);
    try {
        if (!doc.is_object()) throw StreamError("not a JSON object");
        return {doc.at("transfer").get<std::string>(), doc.at("token").get<std::string>(),
                doc.at("files").get<std::vector<std::size_t>>()};
    } catch (const json::exception&) {
        throw StreamError("bad stream header");
    }
}

std::uint64_t send_files(const SendRequestParams& p, const std::vector<int>& sources,
                         const StreamProgress& progress) {
    if (sources.size() != p.files.size())
        throw StreamError("one source descriptor per file is needed");
    const int fd = connect_to(p.host, p.port, p.timeout_seconds);
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};

    StreamHeader header{p.transfer, p.token, {}};
    for (const auto& f : p.files) header.files.push_back(f.index);
    const std::string header_line = encode_stream_header(header);
    if (!write_all(fd, header_line.data(), header_line.size()))
        throw StreamError("send failed: " + errno_text());

    Reader reader(fd);
    const json resume = reader.line();
    if (resume.contains("error"))
        throw StreamError("the receiver refused: " + resume.value("error", ""));
    const json offsets = resume.value("resume", json::object());

    // Files go back to back; verdicts come back in order and are read as
    // they arrive, so many small files cost no round trip each. A file that
    // fails verification is sent once more, from 0, after the others.
    struct Awaiting {
        std::size_t k;  // position in p.files
        int attempt;
    };
    std::deque<Awaiting> awaiting;
    std::vector<std::size_t> again;
    ChunkBuffer buffer;
    ProgressBatcher batch(progress);
    Pacer pacer(p.max_bytes_per_second, p.rate_updates);
    std::uint64_t wire_bytes = 0;

    const auto on_verdict = [&](std::string_view text) {
        if (awaiting.empty()) throw StreamError("the receiver answered a file not sent");
        const Awaiting a = awaiting.front();
        awaiting.pop_front();
        const StreamFile& f = p.files[a.k];
        if (std::uint64_t index = 0; read_verified_line(text, index)) {
            if (index != f.index) throw StreamError("the receiver answered out of order");
            return batch.file_done(f.index);
        }
        const json verdict = parse_line(text);
        if (verdict.value("file", std::size_t{0}) != f.index)
            throw StreamError("the receiver answered out of order");
        if (verdict.value("ok", false)) return batch.file_done(f.index);
        const std::string why = verdict.value("error", "refused");
        if (verdict.value("fatal", false)) throw StreamError(kReceiverFailed + why);
        if (a.attempt > 0) throw StreamError("'" + f.path + "' failed verification twice: " + why);
        batch.bytes(-static_cast<std::int64_t>(f.size));  // counted again on the re-send
        again.push_back(a.k);
    };
    const auto read_ready_verdicts = [&] {
        while (auto verdict = reader.try_text_line()) on_verdict(*verdict);
    };
    Writer writer(fd, p.timeout_seconds, read_ready_verdicts);

    const auto send_file = [&](std::size_t k, std::uint64_t offset, int attempt) {
        const StreamFile& f = p.files[k];
        const int source = sources[k];
        ContentHash hash;
        hash_prefix(source, offset, hash, buffer, f.path);
        batch.already_there(offset);  // counts as done, not as moved
        writer.line(file_head_line(f.index, offset));
        for (std::uint64_t at = offset; at < f.size;) {
            const auto want =
                static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), f.size - at));
            const ssize_t n = ::pread(source, buffer.data(), want, static_cast<off_t>(at));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw StreamError("cannot read '" + f.path + "': " + errno_text());
            if (n == 0) throw StreamError("'" + f.path + "' got shorter while it was sent");
            hash.update(buffer.data(), static_cast<std::size_t>(n));
            writer.append(buffer.data(), static_cast<std::size_t>(n));
            at += static_cast<std::uint64_t>(n);
            wire_bytes += static_cast<std::uint64_t>(n);
            batch.bytes(n);
            pacer.sent(static_cast<std::size_t>(n));
        }
        writer.line(hash_line(hash.hex()));
        awaiting.push_back({k, attempt});
    };
    const auto wait_for_verdicts = [&] {
        writer.flush();
        while (!awaiting.empty()) on_verdict(reader.text_line());
    };

    for (std::size_t k = 0; k < p.files.size(); ++k) {
        std::uint64_t offset = offsets.value(std::to_string(p.files[k].index), std::uint64_t{0});
        if (offset > p.files[k].size) offset = 0;
        send_file(k, offset, 0);
    }
    wait_for_verdicts();
    for (const std::size_t k : std::exchange(again, {})) send_file(k, 0, 1);
    wait_for_verdicts();
    writer.line({{"end", true}});
    writer.flush();
    return wire_bytes;
}

std::vector<std::size_t> receive_files(int socket, int staging_root,
                                       const std::vector<StreamFile>& files, int timeout_seconds,
                                       const StreamProgress& progress, bool fresh) {
    // The daemon's event loop had it non-blocking; here reads block, bounded
    // by the timeouts.
    ::fcntl(socket, F_SETFL, ::fcntl(socket, F_GETFL) & ~O_NONBLOCK);
    set_socket_options(socket, timeout_seconds);
    StagingTree tree(staging_root, ".");
    // Worker processes are single-threaded: reading the umask (which sets
    // it) cannot race another thread's create.
    const mode_t umask_bits = ::umask(0077);
    ::umask(umask_bits);
    std::map<std::size_t, const StreamFile*> by_index;
    json offsets = json::object();
    std::map<std::size_t, std::uint64_t> expected_offset;
    for (const auto& f : files) {
        by_index[f.index] = &f;
        std::uint64_t have = 0;
        if (const int fd = fresh ? -1 : tree.open_for_read(f.path); fd >= 0) {
            struct stat st;
            if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                static_cast<std::uint64_t>(st.st_size) <= f.size) {
                have = static_cast<std::uint64_t>(st.st_size);
            }
            ::close(fd);
        }
        expected_offset[f.index] = have;
        // The sender reads a file not listed as 0: a fresh job's line is empty.
        if (have > 0) offsets[std::to_string(f.index)] = have;
    }
    send_line(socket, {{"resume", offsets}});

    // Verdicts wait here until we would block for more input, so a run of
    // small files is answered with one write, not one per file.
    std::string verdicts;
    const auto flush_verdicts = [&] {
        if (verdicts.empty()) return;
        if (!write_all(socket, verdicts.data(), verdicts.size()))
            throw StreamError("send failed: " + errno_text());
        verdicts.clear();
    };
    const auto verdict = [&](const json& doc) {
        verdicts += doc.dump(-1, ' ', false, json::error_handler_t::replace);
        verdicts += '\n';
    };
    Reader reader(socket, flush_verdicts);
    std::optional<ChunkBuffer> buffer;  // for resumed files only
    ProgressBatcher batch(progress);
    std::vector<std::size_t> verified;
    for (;;) {
        std::uint64_t index = 0, offset = 0;
        if (const std::string_view text = reader.text_line();
            !read_file_head(text, index, offset)) {
            const json head = parse_line(text);
            if (head.value("end", false)) {
                flush_verdicts();
                break;
            }
            index = head.value("file", std::size_t{0});
            offset = head.value("offset", std::uint64_t{0});
        }
        const auto it = by_index.find(index);
        if (it == by_index.end()) throw StreamError("the sender named a file outside this job");
        const StreamFile& f = *it->second;
        if (offset != 0 && offset != expected_offset[index]) {
            throw StreamError("the sender resumed '" + f.path + "' at the wrong offset");
        }
        // A failure of our own storage is not the sender's: keep reading the
        // file to its end, then say why, so the sender gets the reason and
        // not a broken connection.
        std::string storage_error;
        const auto storage_failed = [&](const std::string& why) {
            if (storage_error.empty())
                storage_error = kStorageFailure + ("'" + f.path + "': " + why);
        };
        int out = -1;
        bool mode_set = false;  // created with its final mode already
        try {
            if (fresh && offset == 0) {
                // New in this job: created with its final mode when the
                // umask leaves it whole, which saves an fchmod per file.
                const mode_t mode = f.stamp && (f.stamp->mode & S_IWUSR)
                                        ? static_cast<mode_t>(f.stamp->mode & 0777)
                                        : 0600;
                out = tree.create_new(f.path, mode);
                mode_set =
                    out >= 0 && f.stamp && f.stamp->mode == mode && (mode & ~umask_bits) == mode;
            }
            // There already (a file sent again after a hash mismatch, or a
            // job that is not fresh): opened, checked and truncated.
            if (out < 0) out = tree.open_for_write(f.path, offset == 0);
        } catch (const StagingError& e) {
            storage_failed(e.what());
        }
        struct Closer {
            int fd;
            ~Closer() {
                if (fd >= 0) ::close(fd);
            }
        } closer{out};
        // (Opened with O_TRUNC when the offset is 0.)
        if (out >= 0 && offset > 0 && ::ftruncate(out, static_cast<off_t>(offset)) != 0)
            storage_failed(errno_text());
        ContentHash hash;
        if (offset > 0 && storage_error.empty()) {
            const int in = tree.open_for_read(f.path);
            if (in < 0) throw StreamError("'" + f.path + "' vanished from staging");
            try {
                if (!buffer) buffer.emplace();
                hash_prefix(in, offset, hash, *buffer, f.path);
            } catch (...) {
                ::close(in);
                throw;
            }
            ::close(in);
        }
        batch.already_there(offset);
        std::uint64_t at = offset;
        std::uint64_t flushed = offset;
        reader.bytes(f.size - offset, [&](const char* data, std::size_t n) {
            hash.update(data, n);
            for (std::size_t written = 0; written < n && storage_error.empty();) {
                const ssize_t w =
                    ::pwrite(out, data + written, n - written, static_cast<off_t>(at + written));
                if (w < 0 && errno == EINTR) continue;
                if (w < 0) storage_failed(errno_text());
                if (w > 0) written += static_cast<std::size_t>(w);
            }
            at += n;
            batch.bytes(static_cast<std::int64_t>(n));
            // Start writing a large file back while it still arrives, so the
            // syncfs before publishing has little left to wait for.
            if (at - flushed >= kWritebackBytes && storage_error.empty()) {
                ::sync_file_range(out, static_cast<off_t>(flushed),
                                  static_cast<off_t>(at - flushed), SYNC_FILE_RANGE_WRITE);
                flushed = at;
            }
        });
        std::string_view sent_hash;
        std::string sent_hash_text;  // when the trailer is not in hash_line's layout
        if (const std::string_view text = reader.text_line(); !read_hash_line(text, sent_hash)) {
            sent_hash_text = parse_line(text).value("hash", "");
            sent_hash = sent_hash_text;
        }
        if (!storage_error.empty()) {
            verdict({{"file", index}, {"ok", false}, {"fatal", true}, {"error", storage_error}});
            flush_verdicts();
            throw StreamError(storage_error);
        }
        if (sent_hash == hash.hex()) {
            // Mode and mtime now, through the open descriptor: after the last
            // write, and cheaper than a lookup by name at publish. A mode
            // without owner write waits for publish, so a rerun after a
            // restart can still open the file.
            if (f.stamp) {
                const timespec times[2] = {{0, UTIME_OMIT},
                                           {static_cast<time_t>(f.stamp->mtime_ns / 1'000'000'000),
                                            static_cast<long>(f.stamp->mtime_ns % 1'000'000'000)}};
                if (((f.stamp->mode & S_IWUSR) && !mode_set &&
                     ::fchmod(out, static_cast<mode_t>(f.stamp->mode)) != 0) ||
                    ::futimens(out, times) != 0) {
                    storage_failed(errno_text());
                    verdict({{"file", index},
                             {"ok", false},
                             {"fatal", true},
                             {"error", storage_error}});
                    flush_verdicts();
                    throw StreamError(storage_error);
                }
            }
            verified.push_back(index);
            batch.file_done(index);
            verdicts += verified_line(index);
        } else {
            // Never kept: start this file over.
            if (::ftruncate(out, 0) != 0)
                throw StreamError("cannot truncate '" + f.path + "': " + errno_text());
            batch.bytes(-static_cast<std::int64_t>(f.size));
            expected_offset[index] = 0;
            verdict({{"file", index}, {"ok", false}, {"error", "hash mismatch"}});
        }
    }
    return verified;
}

}  // namespace chat
