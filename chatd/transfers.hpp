#pragma once
// Folder transfers, both directions, on the control thread.
//
// The manager is the composition: the registry of transfers (numbers,
// ids, what is kept in memory), the listing and the decisions a client
// asks for (accept, reject, cancel), and what the store kept taken back
// after a restart. The work is the parts':
//   Sender (transfer_sender): offers, answers, the manifest's upload and,
//     through SendScheduler, the send jobs;
//   Receiver (transfer_receiver): offers and the offer policy, accepting,
//     the data listener (TransferListener), receive jobs, publishing.
// Everything here runs on the control thread (the io_context's).
//
// Both sides keep their transfers in the store, so a restart resumes
// them: the receiver keeps its staging tree, token and verified files;
// the sender, which holds no descriptors after a restart, resumes when
// the same paths are sent to the same peer again.
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "control_protocol.hpp"
#include "control_server.hpp"
#include "envelope.hpp"
#include "net.hpp"
#include "store.hpp"
#include "transfer_context.hpp"
#include "transfer_receiver.hpp"
#include "transfer_registry.hpp"
#include "transfer_sender.hpp"

namespace chat {

class TransferManager {
public:
    explicit TransferManager(TransferContext context);
    ~TransferManager();
    TransferManager(const TransferManager&) = delete;
    TransferManager& operator=(const TransferManager&) = delete;

    // Listens for data connections on TCP at `listen` (the UDP address).
    void start(const Endpoint& listen);
    // Takes back what the store kept (after start). Outgoing transfers that
    // were under way wait as "interrupted" for the same paths to be sent again.
    void restore(const std::vector<TransferRow>& rows);
    void stop();

    void begin_outgoing(const TransferRequest& request, const Endpoint& to, OwnedFds fds,
                        std::shared_ptr<ReplySink> reply);
    void list(std::shared_ptr<ReplySink> reply);
    void decide(const DecideRequest& request, std::shared_ptr<ReplySink> reply);
    void on_offer(const Endpoint& from, const std::string& id, const TransferOffer& offer,
                  const std::string& name);
    void on_answer(const Endpoint& from, const std::string& id, const TransferAnswer& answer);
    void on_cancel(const Endpoint& from, const std::string& id, const std::string& reason);
    std::size_t active() const;

private:
    std::optional<Endpoint> endpoint_of(const std::string& peer_key) const;

    TransferContext ctx_;
    TransferRegistry registry_;
    std::mt19937_64 random_;
    Sender sender_;
    Receiver receiver_;
    Endpoint listen_;  // our UDP socket's address, which peers we can reach
    bool stopped_ = false;
};

}  // namespace chat
