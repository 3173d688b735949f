#include "worker_pool.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/logger.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>
#include <thread>
#include <utility>

#include "unique_fd.hpp"

extern char** environ;

namespace chat {
namespace {

constexpr int kWorkerFd = 3;  // where a worker finds its socket

// Send jobs are the ones the pool limits (see dispatch).
bool is_send(const PoolJob& job) { return job_kind_from_string(job.kind) == JobKind::send; }

}  // namespace

WorkerPool::WorkerPool(asio::io_context& io, std::string worker_executable, std::size_t size,
                       std::shared_ptr<spdlog::logger> log)
    : io_(io),
      executable_(std::move(worker_executable)),
      log_(std::move(log)),
      workers_(std::max(size, kMinWorkers)),
      respawn_timer_(io) {}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::start() {
    for (auto& worker : workers_) spawn(worker);
    for (std::size_t slot = 0; slot < workers_.size(); ++slot) read_next(slot);
}

void WorkerPool::spawn(Worker& worker) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
        throw std::system_error(errno, std::generic_category(), "worker socketpair");
    }
    UniqueFd ours(pair[0]), theirs(pair[1]);
    // dup2 onto the same number would keep close-on-exec set; avoid it.
    if (theirs.get() == kWorkerFd)
        theirs = UniqueFd(::fcntl(theirs.get(), F_DUPFD_CLOEXEC, kWorkerFd + 1));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, theirs.get(), kWorkerFd);
    const std::string fd_text = std::to_string(kWorkerFd);
    char* argv[] = {const_cast<char*>("chatd"), const_cast<char*>("--worker"),
                    const_cast<char*>(fd_text.c_str()), nullptr};
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, executable_.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    theirs.reset();
    if (rc != 0)
        throw std::system_error(rc, std::generic_category(), "cannot start worker " + executable_);
    worker.pid = pid;
    worker.socket = std::make_unique<Socket>(io_, asio::generic::seq_packet_protocol(AF_UNIX, 0),
                                             ours.release());
    log_->debug("worker {} started", pid);
}

void WorkerPool::read_next(std::size_t slot) {
    Worker& worker = workers_[slot];
    worker.buffer.resize(kMaxWorkerMessageBytes);
    const pid_t pid = worker.pid;
    worker.socket->async_receive(asio::buffer(worker.buffer), worker.receive_flags,
                                 [this, slot, pid](asio::error_code ec, std::size_t n) {
                                     if (ec == asio::error::operation_aborted || stopping_) return;
                                     Worker& w = workers_[slot];
                                     if (w.pid != pid)
                                         return;  // a report from a worker already replaced
                                     if (ec || n == 0) {
                                         on_lost(slot, ec ? ec.message() : "it exited");
                                         return;
                                     }
                                     on_report(slot, w.buffer.substr(0, n));
                                     if (workers_[slot].pid == pid) read_next(slot);
                                 });
}

void WorkerPool::on_report(std::size_t slot, const std::string& bytes) {
    Worker& worker = workers_[slot];
    if (worker.cancelled) return;  // it is being killed; what it says no longer matters
    WorkerReport report;
    try {
        report = decode_report(bytes);
    } catch (const WorkerProtocolError& e) {
        log_->warn("worker {} sent a bad report: {}", worker.pid, e.what());
        return;
    }
    if (!worker.running || worker.running->id != report.job) {
        log_->warn("worker {} reported on job {}, which it does not hold", worker.pid, report.job);
        return;
    }
    PoolJob& job = worker.running->job;
    if (report.type == WorkerReport::Type::progress) {
        // It reads between writes, so its socket has room again by now.
        deliver_rate(worker);
        if (job.on_progress) job.on_progress(report);
        return;
    }
    auto done = std::move(job.on_done);
    worker.running.reset();
    const bool ok = report.type == WorkerReport::Type::done;
    if (done) done(ok, ok ? report.result_json : report.error, report.failure);
    dispatch();
}

void WorkerPool::on_lost(std::size_t slot, const std::string& why) {
    Worker& worker = workers_[slot];
    const bool cancelled = std::exchange(worker.cancelled, false);
    if (cancelled) {
        log_->debug("worker {} ended with its cancelled job; starting another", worker.pid);
    } else {
        log_->warn("worker {} was lost ({}); starting another", worker.pid, why);
        ++restarts_;
    }
    std::optional<Running> lost = std::move(worker.running);
    worker.running.reset();
    reap(worker);
    try {
        spawn(worker);
        read_next(slot);
    } catch (const std::system_error& e) {
        log_->error("{}; retrying in 1 s", e.what());
        respawn_timer_.expires_after(std::chrono::seconds(1));
        respawn_timer_.async_wait([this, slot](asio::error_code ec) {
            if (!ec && !stopping_ && workers_[slot].pid < 0) on_lost(slot, "not running");
        });
    }
    if (lost && !cancelled && lost->job.on_done) {
        lost->job.on_done(false, "the worker running it died (" + why + ")", FailureKind::other);
    }
    dispatch();
}

void WorkerPool::reap(Worker& worker) {
    if (worker.socket) {
        asio::error_code ignored;
        worker.socket->close(ignored);
        worker.socket.reset();
    }
    if (worker.pid <= 0) return;
    // It has closed its end, so it is exiting; give it a moment, then insist.
    for (int i = 0; i < 100; ++i) {
        if (::waitpid(worker.pid, nullptr, WNOHANG) != 0) {
            worker.pid = -1;
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(worker.pid, SIGKILL);
    ::waitpid(worker.pid, nullptr, 0);
    worker.pid = -1;
}

std::uint64_t WorkerPool::submit(PoolJob job) {
    const std::uint64_t id = next_job_id_++;
    if (stopping_) {
        if (job.on_done) job.on_done(false, "stopping", FailureKind::cancelled);
        return id;
    }
    queue_.push_back({id, std::move(job), std::nullopt, std::nullopt});
    dispatch();
    return id;
}

void WorkerPool::cancel(std::uint64_t id) {
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
        if (it->id == id) {
            queue_.erase(it);
            return;
        }
    }
    for (auto& worker : workers_) {
        if (worker.running && worker.running->id == id && worker.pid > 0) {
            // Its socket's EOF brings it to on_lost, which replaces it.
            worker.cancelled = true;
            ::kill(worker.pid, SIGKILL);
            return;
        }
    }
}

bool WorkerPool::set_rate(std::uint64_t id, std::uint64_t bytes_per_second) {
    for (auto& worker : workers_) {
        if (!worker.running || worker.running->id != id || worker.cancelled || !worker.socket)
            continue;
        worker.running->rate_wanted = bytes_per_second;
        deliver_rate(worker);
        return true;
    }
    return false;
}

void WorkerPool::deliver_rate(Worker& worker) {
    Running& r = *worker.running;
    if (!r.rate_wanted || r.rate_wanted == r.rate_delivered || !worker.socket) return;
    if (send_with_fds(worker.socket->native_handle(), encode_rate({r.id, *r.rate_wanted}), {})) {
        r.rate_delivered = r.rate_wanted;
    } else {
        log_->debug("worker {}: job {}'s rate of {} B/s waits for its next report ({})", worker.pid,
                    r.id, *r.rate_wanted, std::strerror(errno));
    }
}

void WorkerPool::dispatch() {
    // A send job waits on its peer's receive job, and the peer may be this
    // daemon (a transfer to itself) or be sending here at the same time. If
    // send jobs held every worker, the receive and sync jobs that let them
    // finish could not start until the streams timed out (30 s each, then
    // again): they may hold all workers but one.
    const std::size_t send_limit = send_slots();
    std::size_t sends = 0;
    for (const auto& worker : workers_)
        if (worker.running && is_send(worker.running->job)) ++sends;
    for (std::size_t slot = 0; slot < workers_.size() && !queue_.empty(); ++slot) {
        Worker& worker = workers_[slot];
        if (worker.running || worker.cancelled || !worker.socket) continue;
        const auto taken = std::find_if(queue_.begin(), queue_.end(), [&](const Running& r) {
            return !is_send(r.job) || sends < send_limit;
        });
        if (taken == queue_.end()) return;  // only sends, and enough of them run
        Running next = std::move(*taken);
        queue_.erase(taken);
        PoolJob& job = next.job;
        std::vector<int> fds = job.fds.get();
        for (const std::size_t slot : job.shared_slots)
            fds.push_back(
                job.shared_fds && slot < job.shared_fds->size() ? job.shared_fds->get()[slot] : -1);
        // A descriptor the daemon could not duplicate for the job (F_DUPFD
        // fails only when the process has none left).
        if (std::find(fds.begin(), fds.end(), -1) != fds.end()) {
            if (job.on_done)
                job.on_done(false,
                            "cannot hand the job to a worker: the daemon is out of "
                            "file descriptors",
                            FailureKind::other);
            continue;
        }
        const std::string message = encode_job({next.id, job.kind, job.params_json});
        if (!send_with_fds(worker.socket->native_handle(), message, fds)) {
            const std::string why =
                std::string("cannot hand the job to a worker: ") + std::strerror(errno);
            if (job.on_done) job.on_done(false, why, FailureKind::other);
            continue;
        }
        job.fds.reset();  // the worker has its own copies now
        job.shared_fds.reset();
        if (is_send(job)) ++sends;
        auto started = std::move(job.on_start);
        const std::uint64_t id = next.id;
        worker.running = std::move(next);
        if (started) started(id);
    }
}

void WorkerPool::stop() {
    if (stopping_) return;
    stopping_ = true;
    respawn_timer_.cancel();
    for (auto& worker : workers_) {
        std::optional<Running> running = std::move(worker.running);
        worker.running.reset();
        reap(worker);
        if (running && running->job.on_done)
            running->job.on_done(false, "stopping", FailureKind::cancelled);
    }
    for (auto& queued : queue_) {
        if (queued.job.on_done) queued.job.on_done(false, "stopping", FailureKind::cancelled);
    }
    queue_.clear();
}

std::vector<pid_t> WorkerPool::pids() const {
    std::vector<pid_t> pids;
    for (const auto& worker : workers_) pids.push_back(worker.pid);
    return pids;
}

std::size_t WorkerPool::send_slots() const { return workers_.size() - 1; }

std::size_t WorkerPool::busy() const {
    std::size_t count = 0;
    for (const auto& worker : workers_) count += worker.running ? 1 : 0;
    return count;
}

}  // namespace chat
