#include "common/util/waiting_room.hpp"

namespace huxiao {

const char* to_string(WaitOffer offer) {
    switch (offer) {
        case WaitOffer::queued:
            return "queued";
        case WaitOffer::full:
            return "full";
        case WaitOffer::per_address:
            return "per_address";
        case WaitOffer::too_slow:
            return "too_slow";
    }
    return "?";
}

}  // namespace huxiao
