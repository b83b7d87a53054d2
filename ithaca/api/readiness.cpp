#include "ithaca/api/readiness.hpp"

#include <nlohmann/json.hpp>

namespace ithaca::api {

net::HttpResponse readiness(session::Store& store, session::StreamerRegistry* streamers) {
  // The same read as /healthz: a node whose database is gone cannot mint.
  const bool store_ok = store.get_account("").ok();
  std::string streamer_check = "unknown";
  nlohmann::ordered_json counts = nullptr;
  if (streamers) {
    if (auto a = streamers->availability(); a) {
      streamer_check = a->registered == 0    ? "none registered"
                       : a->free_places == 0 ? "all full"
                                             : "ok";
      counts = {{"registered", a->registered}, {"free_places", a->free_places}};
    }
  }
  const bool ready = store_ok && streamer_check == "ok";
  net::HttpResponse r;
  r.status = ready ? 200 : 503;
  r.headers.emplace_back("Cache-Control", "no-store");
  r.body = nlohmann::ordered_json{
      {"ready", ready},
      {"checks", {{"store", store_ok ? "ok" : "unavailable"}, {"streamers", streamer_check}}},
      {"streamers",
       counts}}.dump();
  return r;
}

}  // namespace ithaca::api
