#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "content_hash.hpp"
#include "stream_io.hpp"
#include "stream_lines.hpp"
#include "transfer_stream.hpp"
#include "unique_fd.hpp"

// The sending end of a transfer's data stream (the protocol is in
// transfer_stream.hpp), run on the one thread of a worker process.
namespace chat {
namespace {

using nlohmann::json;
using namespace stream_io;

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

UniqueFd connect_to(const std::string& host, std::uint16_t port, int timeout_seconds) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* list = nullptr;
    const std::string service = std::to_string(port);
    if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list); rc != 0) {
        throw StreamError("cannot resolve " + host + ": " + gai_strerror(rc));
    }
    const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> found(list, &::freeaddrinfo);
    std::string why = "no address";
    for (const addrinfo* a = found.get(); a; a = a->ai_next) {
        UniqueFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
        if (!fd) continue;
        set_socket_options(fd.get(), timeout_seconds);  // connect honours the send timeout
        if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) return fd;
        why = errno_text();
    }
    throw StreamError("cannot connect to " + host + ":" + service + ": " + why);
}

// One send job over its connection: every file back to back, verdicts
// read in order as they arrive, so many small files cost no round trip
// each. A file that fails verification is sent once more, from 0, after
// the others.
class StreamSender {
public:
    StreamSender(const SendRequestParams& p, const std::vector<int>& sources,
                 const StreamProgress& progress, int socket)
        : p_(p),
          sources_(sources),
          socket_(socket),
          reader_(socket),
          writer_(socket, p.timeout_seconds, [this] { read_ready_verdicts(); }),
          batch_(progress),
          pacer_(p.max_bytes_per_second, p.rate_updates) {}

    std::uint64_t run() {
        send_header();
        const PeerLine resume(reader_.text_line());
        if (resume.has("error")) throw StreamError("the receiver refused: " + resume.text("error"));
        for (std::size_t k = 0; k < p_.files.size(); ++k) {
            // A file not listed: nothing of it there.
            std::uint64_t offset =
                resume.count_in_or("resume", std::to_string(p_.files[k].index), 0);
            if (offset > p_.files[k].size) offset = 0;
            send_file(k, offset, 0);
        }
        wait_for_verdicts();
        for (const std::size_t k : std::exchange(again_, {})) send_file(k, 0, 1);
        wait_for_verdicts();
        writer_.line(json_line({{"end", true}}));
        writer_.flush();
        return wire_bytes_;
    }

private:
    struct Awaiting {
        std::size_t k;  // position in p_.files
        int attempt;
    };

    void send_header() {
        StreamHeader header{p_.transfer, p_.token, {}};
        for (const auto& f : p_.files) header.files.push_back(f.index);
        send_all(socket_, encode_stream_header(header));
    }

    void send_file(std::size_t k, std::uint64_t offset, int attempt) {
        const StreamFile& f = p_.files[k];
        const int source = sources_[k];
        ContentHash hash;
        hash_prefix(source, offset, hash, buffer_, f.path);
        batch_.already_there(offset);  // counts as done, not as moved
        writer_.line(file_head_line(f.index, offset));
        for (std::uint64_t at = offset; at < f.size;) {
            const auto want =
                static_cast<std::size_t>(std::min<std::uint64_t>(buffer_.size(), f.size - at));
            const ssize_t n = ::pread(source, buffer_.data(), want, static_cast<off_t>(at));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw StreamError("cannot read '" + f.path + "': " + errno_text());
            if (n == 0) throw StreamError("'" + f.path + "' got shorter while it was sent");
            hash.update(buffer_.data(), static_cast<std::size_t>(n));
            writer_.append(buffer_.data(), static_cast<std::size_t>(n));
            at += static_cast<std::uint64_t>(n);
            wire_bytes_ += static_cast<std::uint64_t>(n);
            batch_.bytes(n);
            pacer_.sent(static_cast<std::size_t>(n));
        }
        writer_.line(hash_line(hash.hex()));
        awaiting_.push_back({k, attempt});
    }

    void on_verdict(std::string_view text) {
        if (awaiting_.empty()) throw bad_peer("the receiver answered a file not sent");
        const Awaiting a = awaiting_.front();
        awaiting_.pop_front();
        const StreamFile& f = p_.files[a.k];
        if (std::uint64_t index = 0; read_verified_line(text, index)) {
            if (index != f.index) throw bad_peer("the receiver answered out of order");
            return batch_.file_done(f.index);
        }
        const PeerLine verdict(text);
        if (verdict.count("file") != f.index) throw bad_peer("the receiver answered out of order");
        if (verdict.flag_or("ok", false)) return batch_.file_done(f.index);
        const std::string why = verdict.text_or("error", "refused");
        if (verdict.flag_or("fatal", false))
            throw StreamError(kReceiverFailed + why, FailureKind::peer);
        if (a.attempt > 0) throw StreamError("'" + f.path + "' failed verification twice: " + why);
        batch_.bytes(-static_cast<std::int64_t>(f.size));  // counted again on the re-send
        again_.push_back(a.k);
    }

    void read_ready_verdicts() {
        while (auto verdict = reader_.try_text_line()) on_verdict(*verdict);
    }

    void wait_for_verdicts() {
        writer_.flush();
        while (!awaiting_.empty()) on_verdict(reader_.text_line());
    }

    const SendRequestParams& p_;
    const std::vector<int>& sources_;
    int socket_;
    Reader reader_;
    Writer writer_;
    ChunkBuffer buffer_;
    ProgressBatcher batch_;
    Pacer pacer_;
    std::deque<Awaiting> awaiting_;
    std::vector<std::size_t> again_;
    std::uint64_t wire_bytes_ = 0;
};

}  // namespace

std::string encode_stream_header(const StreamHeader& h) {
    return json{{"transfer", h.transfer}, {"token", h.token}, {"files", h.files}}.dump() + "\n";
}

StreamHeader decode_stream_header(const std::string& line) {
    const json doc = json::parse(line, nullptr, false);
    if (!doc.is_object()) throw StreamError("not a JSON object", FailureKind::protocol);
    const auto transfer = doc.find("transfer"), token = doc.find("token"),
               files = doc.find("files");
    const auto bad = [] { return StreamError("bad stream header", FailureKind::protocol); };
    if (transfer == doc.end() || !transfer->is_string() || token == doc.end() ||
        !token->is_string() || files == doc.end() || !files->is_array())
        throw bad();
    StreamHeader header{transfer->get<std::string>(), token->get<std::string>(), {}};
    for (const auto& index : *files) {
        if (!index.is_number_unsigned()) throw bad();
        header.files.push_back(index.get<std::size_t>());
    }
    return header;
}

std::uint64_t send_files(const SendRequestParams& p, const std::vector<int>& sources,
                         const StreamProgress& progress) {
    if (sources.size() != p.files.size())
        throw StreamError("one source descriptor per file is needed", FailureKind::protocol);
    const UniqueFd socket = connect_to(p.host, p.port, p.timeout_seconds);
    return StreamSender(p, sources, progress, socket.get()).run();
}

}  // namespace chat
