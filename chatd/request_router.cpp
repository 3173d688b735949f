#include "request_router.hpp"

namespace chat {

void RequestRouter::handle(Request request, Reply reply) {
    const Slot& slot = slots_[request.index()];
    if (!slot) {
        reply->send_line(error_reply(codes::bad_request, "this request is not served here"));
        return reply->finish();
    }
    slot(std::move(request), std::move(reply));
}

}  // namespace chat
