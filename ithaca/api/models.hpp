// GET /v1/models and GET /v1/streamers: what placement knows, grouped by model or listed per
// streamer (docs/api.md). Pure functions of a StreamerRegistry's list(); unit-tested alone.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "ithaca/base/error.hpp"
#include "ithaca/metrics/metrics.hpp"
#include "ithaca/session/streamer_registry.hpp"

namespace ithaca::api {

// {"models":[{"name","version","formats","params","image_to_video","max_sessions","streamers",
// "capacity","in_use"}...], "default": name or null}, by name. A model's description is the
// one of its first streamer (by id); capacity and in_use are summed over its streamers.
Result<nlohmann::ordered_json> models_json(session::StreamerRegistry& registry,
                                           const std::string& default_model);

// Scrape-time gauges of the registry: ithaca_streamer_degraded{streamer} (1: degraded),
// ithaca_model_capacity{model} and ithaca_model_in_use{model} (places, summed per model).
void add_placement_metrics(metrics::Registry& metrics, session::StreamerRegistry& registry);

// {"streamers":[{"id","model":{"name","version"},"capacity","in_use","degraded","version"}...]}
Result<nlohmann::ordered_json> streamers_json(session::StreamerRegistry& registry);

}  // namespace ithaca::api
