#include "worker.hpp"

#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "content_hash.hpp"
#include "fd_passing.hpp"
#include "transfer_stream.hpp"
#include "worker_jobs.hpp"
#include "worker_protocol.hpp"

namespace chat {
namespace {

using nlohmann::json;

constexpr std::size_t kIoBufferBytes = 256 * 1024;
constexpr std::int64_t kProgressEveryBytes = 4 << 20;

class Worker {
public:
    explicit Worker(int control_fd) : control_fd_(control_fd), buffer_(kIoBufferBytes) {
        auto sink = std::make_shared<spdlog::sinks::stderr_sink_st>();
        log_ = std::make_shared<spdlog::logger>("chatd-worker", sink);
        log_->set_pattern(std::getenv("JOURNAL_STREAM") ? "worker %P %l: %v"
                                                        : "%Y-%m-%d %H:%M:%S.%e worker %P %l: %v");
    }

    int run() {
        std::string message;
        for (;;) {
            OwnedFds fds;
            switch (receive_with_fds(control_fd_, message, fds, kMaxWorkerMessageBytes)) {
                case ReceiveResult::closed:
                    return 0;  // the daemon is done with us
                case ReceiveResult::error:
                    log_->error("reading jobs failed: {}", std::strerror(errno));
                    return 1;
                case ReceiveResult::truncated:
                    log_->error("a job message was cut short; ignoring it");
                    continue;
                case ReceiveResult::message:
                    break;
            }
            // A new rate for a send job that has ended meanwhile.
            if (decode_rate(message)) continue;
            WorkerJob job;
            try {
                job = decode_job(message);
            } catch (const WorkerProtocolError& e) {
                log_->error("bad job: {}", e.what());
                continue;
            }
            current_job_ = job.id;
            run_reporting_failure(job, fds);
        }
    }

private:
    // Runs a job; a failure is reported with its kind, so the daemon never
    // reads the text to decide.
    void run_reporting_failure(const WorkerJob& job, OwnedFds& fds) {
        try {
            run_job(job, fds);
        } catch (const StreamError& e) {
            fail(e.what(), e.kind());
        } catch (const WorkerProtocolError& e) {
            fail(e.what(), FailureKind::protocol);
        } catch (const json::exception& e) {  // a job's parameters missing or mistyped
            fail(e.what(), FailureKind::protocol);
        } catch (const std::exception& e) {  // StagingError among others
            fail(e.what(), FailureKind::other);
        }
    }

    void run_job(const WorkerJob& job, OwnedFds& fds) {
        const std::optional<JobKind> kind = job_kind_from_string(job.kind);
        if (!kind) return fail("unknown job kind '" + job.kind + "'", FailureKind::protocol);
        switch (*kind) {
            case JobKind::hash:
                return hash_files(fds);
            case JobKind::send:
                return send_job(decode_send_job(job.params_json), fds);
            case JobKind::receive:
                return receive_job(decode_receive_job(job.params_json), fds);
            case JobKind::sync:
                return sync_job(fds);
        }
    }

    StreamProgress reporter() {
        return [this](std::int64_t bytes, const std::vector<std::size_t>& verified,
                      std::uint64_t already_there) {
            send({current_job_, WorkerReport::Type::progress, bytes, verified.size(),
                  std::vector<std::uint64_t>(verified.begin(), verified.end()), "", "",
                  already_there});
        };
    }

    // Sends a job's files over its own TCP connection; fds are the sources.
    void send_job(SendJobParams params, OwnedFds& fds) {
        SendRequestParams p;
        p.host = std::move(params.host);
        p.port = params.port;
        p.transfer = std::move(params.transfer);
        p.token = std::move(params.token);
        p.timeout_seconds = params.timeout_seconds;
        p.max_bytes_per_second = params.max_rate;
        p.rate_updates = [this] { return rate_update(); };
        p.files = std::move(params.files);
        const auto wire = send_files(p, fds.get(), reporter());
        done(encode_send_result({wire}));
    }

    // The newest rate the daemon sent for this job, if any came (read
    // without waiting: while a job runs, only rates come down).
    std::optional<std::uint64_t> rate_update() {
        std::optional<std::uint64_t> newest;
        std::string message;
        for (;;) {
            OwnedFds fds;
            if (receive_with_fds(control_fd_, message, fds, kMaxWorkerMessageBytes, MSG_DONTWAIT) !=
                ReceiveResult::message)
                return newest;
            const auto rate = decode_rate(message);
            if (rate && rate->job == current_job_) {
                newest = rate->bytes_per_second;
            } else if (!rate) {
                log_->error("a message came for no job while a job ran; ignoring it");
            }
        }
    }

    // Makes a received tree durable before it is published: the syncfs,
    // which can take seconds when the file system holds much dirty data,
    // runs here and not in the daemon's event loop. fds: the staging root.
    void sync_job(OwnedFds& fds) {
        if (fds.size() != 1)
            return fail("a sync job needs the staging directory", FailureKind::protocol);
        // Tests make the sync slow, to see the daemon answer meanwhile.
        if (const char* hooks = std::getenv("CHATD_TEST_HOOKS");
            hooks && hooks == std::string("1")) {
            if (const char* ms = std::getenv("CHATD_TEST_SYNC_DELAY_MS"))
                std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(ms)));
        }
        if (::syncfs(fds.get()[0]) != 0) {
            return fail(std::string("cannot sync the received files: ") + std::strerror(errno),
                        FailureKind::sync);
        }
        done("{}");
    }

    // Serves one accepted connection; fds are the socket and the staging root.
    void receive_job(const ReceiveJobParams& params, OwnedFds& fds) {
        if (fds.size() != 2) {
            return fail("a receive job needs a socket and a staging directory",
                        FailureKind::protocol);
        }
        const auto verified = receive_files(fds.get()[0], fds.get()[1], params.files,
                                            params.timeout_seconds, reporter(), params.fresh);
        done(encode_receive_result({verified}));
    }

    // Hashes each descriptor to its end: the check a receiver makes of a
    // staged file, and a sender of a source before it resumes.
    void hash_files(OwnedFds& fds) {
        json hashes = json::array();
        json sizes = json::array();
        for (const int fd : fds.get()) {
            ContentHash hash;
            std::uint64_t size = 0;
            std::int64_t unreported = 0;
            for (;;) {
                const ssize_t n = ::read(fd, buffer_.data(), buffer_.size());
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) {
                    return fail(std::string("read failed: ") + std::strerror(errno),
                                FailureKind::other);
                }
                if (n == 0) break;
                hash.update(buffer_.data(), static_cast<std::size_t>(n));
                size += static_cast<std::uint64_t>(n);
                unreported += n;
                if (unreported >= kProgressEveryBytes) {
                    progress(std::exchange(unreported, 0), 0);
                }
            }
            progress(unreported, 1);
            hashes.push_back(hash.hex());
            sizes.push_back(size);
        }
        done(json{{"hashes", hashes}, {"sizes", sizes}}.dump());
    }

    void progress(std::int64_t bytes, std::uint64_t files) {
        send({current_job_, WorkerReport::Type::progress, bytes, files, {}, "", "", 0});
    }

    void done(const std::string& result_json) {
        WorkerReport report;
        report.job = current_job_;
        report.type = WorkerReport::Type::done;
        report.result_json = result_json;
        send(report);
    }

    void fail(const std::string& why, FailureKind kind) {
        WorkerReport report;
        report.job = current_job_;
        report.type = WorkerReport::Type::failed;
        report.error = why;
        report.failure = kind;
        send(report);
    }

    void send(const WorkerReport& report) {
        if (!send_with_fds(control_fd_, encode_report(report), {})) {
            log_->error("cannot report to the daemon: {}", std::strerror(errno));
            std::exit(1);  // the daemon is gone; nothing left to do
        }
    }

    int control_fd_;
    std::vector<char> buffer_;
    std::shared_ptr<spdlog::logger> log_;
    std::uint64_t current_job_ = 0;
};

}  // namespace

int run_worker(int control_fd) {
    // A worker outlives nothing: if the daemon dies (even SIGKILL), a job in
    // the middle of a stream must stop, not finish on its own.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    return Worker(control_fd).run();
}

}  // namespace chat
