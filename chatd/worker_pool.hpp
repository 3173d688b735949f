#pragma once
// The transfer workers, seen from the daemon. Each worker is its own
// process, started with posix_spawn as `chatd --worker 3` (never a bare
// fork of the threaded daemon), joined by a SOCK_SEQPACKET socketpair.
// Jobs go down with their descriptors; progress and results come up and
// are read on the control thread (the progress queue). A worker that dies
// fails only the job it held, and the pool starts another. Control thread
// only.
#include <sys/types.h>

#include <asio/generic/seq_packet_protocol.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fd_passing.hpp"
#include "worker_protocol.hpp"

namespace spdlog {
class logger;
}

namespace chat {

struct PoolJob {
    std::string kind;  // to_string(JobKind); the worker fails a name it does not know
    std::string params_json = "{}";
    OwnedFds fds;  // sent to the worker with the job, then closed here
    // Descriptors that others hold too (a transfer's files): these slots of
    // `shared_fds` follow `fds`, and stay open while a job or their owner
    // holds them, with no copy made per job.
    std::shared_ptr<const OwnedFds> shared_fds;
    std::vector<std::size_t> shared_slots;
    // Runs with the job's id once it is in a worker (it may wait in the
    // queue first, or start within submit()).
    std::function<void(std::uint64_t job)> on_start;
    std::function<void(const WorkerReport& progress)> on_progress;
    // ok with the result (a JSON object), or not with the reason and its
    // kind (the worker's, or the pool's own: cancelled when stopping).
    std::function<void(bool ok, const std::string& result_or_error, FailureKind failure)> on_done;
};

class WorkerPool {
public:
    // Send jobs may hold all workers but one (see dispatch), so a pool asked
    // for one worker starts two: with one, a transfer to this daemon, or a
    // crossed one, would wait on itself until its streams timed out.
    static constexpr std::size_t kMinWorkers = 2;

    WorkerPool(asio::io_context& io, std::string worker_executable, std::size_t size,
               std::shared_ptr<spdlog::logger> log);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // Starts every worker; throws std::system_error if one cannot start.
    void start();
    // Returns the job's id, for cancel().
    std::uint64_t submit(PoolJob job);
    // A queued job is dropped; a running one ends with its worker, which is
    // killed and replaced. Either way on_done is not called. Unknown ids
    // (finished jobs) are ignored.
    void cancel(std::uint64_t job);
    // Tells a running send job its new rate limit (bytes per second, 0:
    // none); the worker reads it between writes. The rate is kept for the
    // job: if the worker's socket is full now, it goes again with the job's
    // next report. False if the job is not running (queued jobs start with
    // their own parameters).
    bool set_rate(std::uint64_t job, std::uint64_t bytes_per_second);
    // Closes the workers' sockets (they exit), waits for them briefly, then
    // kills what is left. Queued and running jobs fail with "stopping".
    void stop();

    std::vector<pid_t> pids() const;
    std::size_t queued() const { return queue_.size(); }
    std::size_t busy() const;
    // How many send jobs may run at once: all workers but one.
    std::size_t send_slots() const;
    std::uint64_t restarts() const { return restarts_; }  // not counting cancelled jobs

private:
    using Socket = asio::generic::seq_packet_protocol::socket;
    struct Running {
        std::uint64_t id;
        PoolJob job;
        std::optional<std::uint64_t> rate_wanted;     // the newest set_rate
        std::optional<std::uint64_t> rate_delivered;  // the last one the socket took
    };
    struct Worker {
        pid_t pid = -1;
        std::unique_ptr<Socket> socket;
        std::optional<Running> running;
        bool cancelled = false;  // killed on purpose: no restart counted
        std::string buffer;
        // Asio writes a seq_packet receive's flags here when it completes, so
        // it must outlive the operation.
        asio::socket_base::message_flags receive_flags{};
    };

    void spawn(Worker& worker);
    void read_next(std::size_t slot);
    void on_report(std::size_t slot, const std::string& bytes);
    void on_lost(std::size_t slot, const std::string& why);
    void dispatch();
    void reap(Worker& worker);
    // Sends the running job's wanted rate if the worker does not have it yet.
    void deliver_rate(Worker& worker);

    asio::io_context& io_;
    std::string executable_;
    std::shared_ptr<spdlog::logger> log_;
    std::vector<Worker> workers_;
    std::deque<Running> queue_;
    std::uint64_t next_job_id_ = 1;
    std::uint64_t restarts_ = 0;
    asio::steady_timer respawn_timer_;
    bool stopping_ = false;
};

}  // namespace chat
