#pragma once
// Control requests to their handlers: a table with one entry per kind of
// request (an alternative of the Request variant), filled in once by the
// composition root, the way Transmission's rpcimpl.cc maps a method name
// to its function. Control thread only.
#include <array>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>
#include <variant>

#include "control_protocol.hpp"
#include "control_server.hpp"

namespace chat {

class RequestRouter : public RequestHandler {
public:
    using Reply = std::shared_ptr<ReplySink>;

    // The handler of requests of type T; one per type.
    template <class T>
    void on(std::function<void(T request, Reply reply)> handler) {
        slots_[index_of<T>()] = [handler = std::move(handler)](Request&& request, Reply reply) {
            handler(std::get<T>(std::move(request)), std::move(reply));
        };
    }

    // A kind of request nobody registered is refused as a bad request.
    void handle(Request request, Reply reply) override;

private:
    using Slot = std::function<void(Request&&, Reply)>;

    template <class T, std::size_t I = 0>
    static constexpr std::size_t index_of() {
        if constexpr (std::is_same_v<T, std::variant_alternative_t<I, Request>>) {
            return I;
        } else {
            return index_of<T, I + 1>();
        }
    }

    std::array<Slot, std::variant_size_v<Request>> slots_;
};

}  // namespace chat
