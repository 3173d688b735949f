// The receiving end of a transfer's data stream (the protocol is in
// transfer_stream.hpp), run on the one thread of a worker process.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "content_hash.hpp"
#include "staging.hpp"
#include "stream_io.hpp"
#include "stream_lines.hpp"
#include "transfer_stream.hpp"
#include "unique_fd.hpp"

namespace chat {
namespace {

using nlohmann::json;
using namespace stream_io;

constexpr std::uint64_t kWritebackBytes = 8 << 20;

// What every file of one receive job shares.
struct ReceiveSetting {
    StagingTree& tree;
    bool fresh;                                     // no file of the job can be staged already
    mode_t umask_bits;                              // this process's, read once
    std::optional<ChunkBuffer> prefix_buffer = {};  // made for the first resumed file
};

// One file of a receive job, from its head line to its verdict: opens it
// (created new, or resumed at the offset the sender was told), writes and
// hashes what arrives, then checks the sender's hash and stamps the file,
// or truncates it to start over. A failure of our own storage is not the
// sender's: the file is still read to its end, and the failure becomes the
// verdict, so the sender gets the reason and not a broken connection.
class FileReceiver {
public:
    FileReceiver(ReceiveSetting& setting, const StreamFile& file, std::uint64_t offset)
        : file_(file), at_(offset), flushed_(offset) {
        open(setting);
        // (Opened with O_TRUNC when the offset is 0.)
        if (out_ && offset > 0 && ::ftruncate(out_.get(), static_cast<off_t>(offset)) != 0)
            storage_failed(errno_text());
        if (offset > 0 && storage_error_.empty()) hash_staged_prefix(setting, offset);
    }

    // The next bytes of the file.
    void take(const char* data, std::size_t n) {
        hash_.update(data, n);
        for (std::size_t written = 0; written < n && storage_error_.empty();) {
            const ssize_t w = ::pwrite(out_.get(), data + written, n - written,
                                       static_cast<off_t>(at_ + written));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) storage_failed(errno_text());
            if (w > 0) written += static_cast<std::size_t>(w);
        }
        at_ += n;
        // Start writing a large file back while it still arrives, so the
        // syncfs before publishing has little left to wait for.
        if (at_ - flushed_ >= kWritebackBytes && storage_error_.empty()) {
            ::sync_file_range(out_.get(), static_cast<off_t>(flushed_),
                              static_cast<off_t>(at_ - flushed_), SYNC_FILE_RANGE_WRITE);
            flushed_ = at_;
        }
    }

    bool storage_failed() const { return !storage_error_.empty(); }
    const std::string& storage_error() const { return storage_error_; }
    bool matches(std::string_view sent_hash) const { return sent_hash == hash_.hex(); }

    // Mode and mtime now, through the open descriptor: after the last
    // write, and cheaper than a lookup by name at publish. A mode without
    // owner write waits for publish, so a rerun after a restart can still
    // open the file. False (a storage failure) if they cannot be set.
    bool stamp() {
        const auto& stamp = file_.stamp;
        if (!stamp) return true;
        const timespec times[2] = {{0, UTIME_OMIT},
                                   {static_cast<time_t>(stamp->mtime_ns / 1'000'000'000),
                                    static_cast<long>(stamp->mtime_ns % 1'000'000'000)}};
        if (((stamp->mode & S_IWUSR) && !mode_set_ &&
             ::fchmod(out_.get(), static_cast<mode_t>(stamp->mode)) != 0) ||
            ::futimens(out_.get(), times) != 0) {
            storage_failed(errno_text());
            return false;
        }
        return true;
    }

    // A file whose hash did not match is never kept.
    void start_over() {
        if (::ftruncate(out_.get(), 0) != 0)
            throw StreamError("cannot truncate '" + file_.path + "': " + errno_text());
    }

private:
    void open(ReceiveSetting& setting) {
        const auto& stamp = file_.stamp;
        try {
            if (setting.fresh && at_ == 0) {
                // New in this job: created with its final mode when the
                // umask leaves it whole, which saves an fchmod per file.
                const mode_t mode = stamp && (stamp->mode & S_IWUSR)
                                        ? static_cast<mode_t>(stamp->mode & 0777)
                                        : 0600;
                out_ = setting.tree.create_new(file_.path, mode);
                mode_set_ =
                    out_ && stamp && stamp->mode == mode && (mode & ~setting.umask_bits) == mode;
            }
            // There already (a file sent again after a hash mismatch, or a
            // job that is not fresh): opened, checked and truncated.
            if (!out_) out_ = setting.tree.open_for_write(file_.path, at_ == 0);
        } catch (const StagingError& e) {
            storage_failed(e.what());
        }
    }

    void hash_staged_prefix(ReceiveSetting& setting, std::uint64_t offset) {
        const UniqueFd in = setting.tree.open_for_read(file_.path);
        if (!in) throw StreamError("'" + file_.path + "' vanished from staging");
        if (!setting.prefix_buffer) setting.prefix_buffer.emplace();
        hash_prefix(in.get(), offset, hash_, *setting.prefix_buffer, file_.path);
    }

    void storage_failed(const std::string& why) {
        if (storage_error_.empty())
            storage_error_ = kStorageFailure + ("'" + file_.path + "': " + why);
    }

    const StreamFile& file_;
    UniqueFd out_;
    ContentHash hash_;
    std::uint64_t at_;       // where the next byte goes
    std::uint64_t flushed_;  // written back up to here
    bool mode_set_ = false;  // created with its final mode already
    std::string storage_error_;
};

// The files of one receive job, by index, and where each may resume.
class JobFiles {
public:
    JobFiles(const std::vector<StreamFile>& files, StagingTree& tree, bool fresh) {
        for (const auto& f : files) {
            by_index_[f.index] = {&f, fresh ? 0 : staged_size(tree, f)};
        }
    }

    // {"resume":{"i":offset,...}}: the sender reads a file not listed as 0,
    // so a fresh job's line is empty.
    std::string resume_line() const {
        json offsets = json::object();
        for (const auto& [index, entry] : by_index_) {
            if (entry.resume_at > 0) offsets[std::to_string(index)] = entry.resume_at;
        }
        return json_line({{"resume", offsets}});
    }

    // The file a head line names, checked against what the sender was told.
    const StreamFile& named(std::uint64_t index, std::uint64_t offset) const {
        const auto it = by_index_.find(index);
        if (it == by_index_.end()) throw bad_peer("the sender named a file outside this job");
        const StreamFile& f = *it->second.file;
        if (offset != 0 && offset != it->second.resume_at)
            throw bad_peer("the sender resumed '" + f.path + "' at the wrong offset");
        return f;
    }

    // After a hash mismatch the file comes again from 0.
    void starts_over(std::uint64_t index) { by_index_.at(index).resume_at = 0; }

private:
    struct Entry {
        const StreamFile* file;
        std::uint64_t resume_at;
    };

    // What is staged of `f` already, if it could be the start of it.
    static std::uint64_t staged_size(StagingTree& tree, const StreamFile& f) {
        const UniqueFd fd = tree.open_for_read(f.path);
        struct stat st;
        if (fd && ::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) &&
            static_cast<std::uint64_t>(st.st_size) <= f.size) {
            return static_cast<std::uint64_t>(st.st_size);
        }
        return 0;
    }

    std::map<std::uint64_t, Entry> by_index_;
};

// A file's head line, nullopt for the end line.
struct FileHead {
    std::uint64_t index = 0;
    std::uint64_t offset = 0;
};
std::optional<FileHead> read_head(std::string_view text) {
    FileHead head;
    if (read_file_head(text, head.index, head.offset)) return head;
    const PeerLine line(text);
    if (line.flag_or("end", false)) return std::nullopt;
    return FileHead{line.count("file"), line.count("offset")};
}

// The sender's hash of a whole file; `kept` holds it when the trailer is
// not in hash_line's layout.
std::string_view read_sent_hash(std::string_view text, std::string& kept) {
    if (std::string_view hex; read_hash_line(text, hex)) return hex;
    kept = PeerLine(text).text("hash");
    return kept;
}

}  // namespace

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
    ReceiveSetting setting{tree, fresh, umask_bits};
    JobFiles job(files, tree, fresh);
    send_all(socket, job.resume_line());

    // Verdicts wait here until we would block for more input, so a run of
    // small files is answered with one write, not one per file.
    std::string verdicts;
    const auto flush_verdicts = [&] {
        if (verdicts.empty()) return;
        send_all(socket, verdicts);
        verdicts.clear();
    };
    Reader reader(socket, flush_verdicts);
    ProgressBatcher batch(progress);
    std::vector<std::size_t> verified;
    while (const auto head = read_head(reader.text_line())) {
        const StreamFile& f = job.named(head->index, head->offset);
        FileReceiver file(setting, f, head->offset);
        batch.already_there(head->offset);
        reader.bytes(f.size - head->offset, [&](const char* data, std::size_t n) {
            file.take(data, n);
            batch.bytes(static_cast<std::int64_t>(n));
        });
        std::string hash_text;
        const std::string_view sent_hash = read_sent_hash(reader.text_line(), hash_text);
        if (!file.storage_failed() && file.matches(sent_hash) && file.stamp()) {
            verified.push_back(f.index);
            batch.file_done(f.index);
            verdicts += verified_line(f.index);
        } else if (file.storage_failed()) {
            verdicts += json_line({{"file", f.index},
                                   {"ok", false},
                                   {"fatal", true},
                                   {"error", file.storage_error()}});
            flush_verdicts();
            throw StreamError(file.storage_error(), FailureKind::storage);
        } else {
            file.start_over();
            batch.bytes(-static_cast<std::int64_t>(f.size));
            job.starts_over(f.index);
            verdicts += json_line({{"file", f.index}, {"ok", false}, {"error", "hash mismatch"}});
        }
    }
    flush_verdicts();
    return verified;
}

}  // namespace chat
