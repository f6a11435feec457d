#include "server/sessions/terminal_roster.hpp"

namespace huxiao {

std::vector<std::shared_ptr<TerminalSession>> TerminalRoster::join(
    const std::string& terminal, const std::shared_ptr<TerminalSession>& session) {
    std::vector<std::shared_ptr<TerminalSession>> replaced;
    std::lock_guard lock(mutex_);
    auto& list = sessions_[terminal];
    std::erase_if(list, [](const auto& w) { return w.expired(); });
    while (list.size() >= max_) {
        if (auto old = list.front().lock()) replaced.push_back(std::move(old));
        list.pop_front();
    }
    list.push_back(session);
    return replaced;
}

void TerminalRoster::leave(const std::string& terminal, const TerminalSession* session) {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(terminal);
    if (it == sessions_.end()) return;
    std::erase_if(it->second, [session](const auto& w) {
        auto s = w.lock();
        return !s || s.get() == session;
    });
    if (it->second.empty()) sessions_.erase(it);
}

}  // namespace huxiao
