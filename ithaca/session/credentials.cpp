#include "ithaca/session/credentials.hpp"

namespace ithaca::session {

nlohmann::ordered_json to_json(const ClientCredentials& c) {
  nlohmann::ordered_json caps = nlohmann::ordered_json::object();
  for (const auto& [name, on] : c.capabilities) caps[name] = on;  // std::map: sorted names
  return {{"session_id", c.session_id},
          {"signaling_url", c.signaling_url},
          {"session_token", c.session_token},
          {"expires_in", c.expires_in},
          {"capabilities", caps}};
}

}  // namespace ithaca::session
