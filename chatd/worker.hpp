#pragma once
// The worker process: `chatd --worker FD`, started by the WorkerPool with
// posix_spawn (so nothing is forked from the threaded daemon). Single-
// threaded and blocking: it takes one job at a time from FD (a SEQPACKET
// socket), runs it with bounded buffers, reports progress and a result,
// and exits when the daemon closes FD.
namespace chat {

int run_worker(int control_fd);

}  // namespace chat
