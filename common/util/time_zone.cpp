#include "common/util/time_zone.hpp"

#include <date/tz.h>

#include <exception>
#include <map>
#include <mutex>
#include <string>

namespace huxiao {

namespace {

using std::chrono::minutes;
using std::chrono::sys_days;

class TzdbZone final : public TimeZone {
  public:
    explicit TzdbZone(const date::time_zone* zone) : zone_(zone) {}

    minutes offset_at(TimePoint at) const override {
        const auto info = zone_->get_info(std::chrono::floor<std::chrono::seconds>(at));
        return std::chrono::floor<minutes>(info.offset);
    }

    LocalInstant from_local(sys_days date, int minute) const override {
        const date::local_seconds local{(date + minutes{minute}).time_since_epoch()};
        const date::local_info info = zone_->get_info(local);
        switch (info.result) {
            case date::local_info::nonexistent:
                // The gap ends where the second period begins.
                return {TimePoint{info.second.begin}, true};
            case date::local_info::ambiguous:  // the first of the two is the earlier
            case date::local_info::unique:
            default:
                return {TimePoint{local.time_since_epoch() - info.first.offset}, false};
        }
    }

  private:
    const date::time_zone* zone_;
};

}  // namespace

std::shared_ptr<const TimeZone> TimeZone::locate(std::string_view name) {
    // Zones are looked up often (every guard post of every report) and never
    // change while the process runs: keep one object per name.
    static std::mutex mutex;
    static std::map<std::string, std::shared_ptr<const TimeZone>, std::less<>> cache;
    std::lock_guard lock(mutex);
    if (auto it = cache.find(name); it != cache.end()) return it->second;
    std::shared_ptr<const TimeZone> zone;
    try {
        zone = std::make_shared<TzdbZone>(date::locate_zone(name));
    } catch (const std::exception&) {
        zone = nullptr;  // unknown name, or no tz database on this machine
    }
    // Unknown names are cached too, but only a bounded number of them: the
    // names come from the registry, which the admin API validates.
    if (zone || cache.size() < 4096) cache.emplace(std::string(name), zone);
    return zone;
}

}  // namespace huxiao
