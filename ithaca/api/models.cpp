#include "ithaca/api/models.hpp"

#include <map>

namespace ithaca::api {
namespace {

using ordered_json = nlohmann::ordered_json;

// A JSON object the streamer declared (stored compact); {} if unreadable.
ordered_json declared(const std::string& text) {
  auto j = ordered_json::parse(text, nullptr, false);
  return j.is_object() ? j : ordered_json::object();
}

}  // namespace

Result<ordered_json> models_json(session::StreamerRegistry& registry,
                                 const std::string& default_model) {
  auto streamers = registry.list();
  if (!streamers) return std::move(streamers).error();
  std::map<std::string, ordered_json> by_name;
  for (const auto& s : *streamers) {
    const auto& m = s.info.model;
    auto [it, added] = by_name.try_emplace(m.name);
    ordered_json& row = it->second;
    if (added) {
      row = {{"name", m.name},
             {"version", m.version},
             {"formats", declared(m.formats)},
             {"params", declared(m.params)},
             {"image_to_video", m.image_to_video},
             {"max_sessions", m.max_sessions},
             {"streamers", 0},
             {"capacity", 0},
             {"in_use", 0}};
    }
    row["streamers"] = row["streamers"].get<int>() + 1;
    row["capacity"] = row["capacity"].get<int>() + s.info.capacity;
    row["in_use"] = row["in_use"].get<int>() + s.in_use;
  }
  ordered_json models = ordered_json::array();
  for (auto& [name, row] : by_name) models.push_back(std::move(row));
  return ordered_json{
      {"models", std::move(models)},
      {"default", default_model.empty() ? ordered_json(nullptr) : ordered_json(default_model)}};
}

void add_placement_metrics(metrics::Registry& metrics, session::StreamerRegistry& registry) {
  using Series = std::vector<std::pair<std::string, double>>;
  metrics.gauge("ithaca_streamer_degraded", "1 when a streamer's model workers keep crashing.",
                "streamer", [&registry] {
                  Series out;
                  if (auto list = registry.list(); list) {
                    for (const auto& s : *list) out.emplace_back(s.info.id, s.info.degraded);
                  }
                  return out;
                });
  auto per_model = [&registry](bool in_use) {
    return [&registry, in_use] {
      std::map<std::string, double> sums;
      if (auto list = registry.list(); list) {
        for (const auto& s : *list) sums[s.info.model.name] += in_use ? s.in_use : s.info.capacity;
      }
      return Series(sums.begin(), sums.end());
    };
  };
  metrics.gauge("ithaca_model_capacity", "Places of the live streamers, by model.", "model",
                per_model(false));
  metrics.gauge("ithaca_model_in_use", "Places in use, by model.", "model", per_model(true));
}

Result<ordered_json> streamers_json(session::StreamerRegistry& registry) {
  auto streamers = registry.list();
  if (!streamers) return std::move(streamers).error();
  ordered_json list = ordered_json::array();
  for (const auto& s : *streamers) {
    list.push_back({{"id", s.info.id},
                    {"model", {{"name", s.info.model.name}, {"version", s.info.model.version}}},
                    {"capacity", s.info.capacity},
                    {"in_use", s.in_use},
                    {"degraded", s.info.degraded},
                    {"version", s.info.version}});
  }
  return ordered_json{{"streamers", std::move(list)}};
}

}  // namespace ithaca::api
