// Readiness, beside liveness (GET /healthz): GET /readyz answers 200 when this node can serve a
// mint now (its store answers a read and at least one streamer is registered with a free
// place), else 503; the body names each check either way:
//
//   {"ready": false,
//    "checks": {"store": "ok", "streamers": "none registered"},
//    "streamers": {"registered": 0, "free_places": 0}}
//
// store: "ok" | "unavailable"; streamers: "ok" | "none registered" | "all full" | "unknown"
// (the registry could not be read: Redis down). With a Redis store the streamer counts are the
// cluster's (any node places sessions on any streamer). Capabilities are not considered: a mint
// that requires one may still find no streamer.
#pragma once

#include "ithaca/net/http.hpp"
#include "ithaca/session/store.hpp"
#include "ithaca/session/streamer_registry.hpp"

namespace ithaca::api {

// `streamers` may be null (no registry wired in): then "streamers" is "unknown" and never ready.
net::HttpResponse readiness(session::Store& store, session::StreamerRegistry* streamers);

}  // namespace ithaca::api
