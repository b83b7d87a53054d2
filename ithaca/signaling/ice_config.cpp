#include "ithaca/signaling/ice_config.hpp"

namespace ithaca::signaling {

nlohmann::ordered_json ice_config_json(const std::vector<std::string>& urls,
                                       const std::string& turn_username,
                                       const std::string& turn_credential) {
  std::vector<std::string> stun, turn;
  for (const auto& url : urls) {
    (url.rfind("turn:", 0) == 0 || url.rfind("turns:", 0) == 0 ? turn : stun).push_back(url);
  }
  auto servers = nlohmann::ordered_json::array();
  if (!stun.empty()) servers.push_back({{"urls", stun}});
  if (!turn.empty()) {
    nlohmann::ordered_json entry = {{"urls", turn}};
    if (!turn_username.empty()) entry["username"] = turn_username;
    if (!turn_credential.empty()) entry["credential"] = turn_credential;
    servers.push_back(std::move(entry));
  }
  return {{"iceServers", std::move(servers)}};
}

}  // namespace ithaca::signaling
