#include "ithaca/signaling/model_fields.hpp"

#include "ithaca/signaling/messages.hpp"

namespace ithaca::signaling {
namespace {

using json = nlohmann::json;

bool int_in(const json& j, int64_t lo, int64_t hi) {
  return j.is_number_integer() && j.get<int64_t>() >= lo && j.get<int64_t>() <= hi;
}

// {"width","height","fps"}: positive even sizes up to 8192, fps 1..240.
bool valid_format(const json& f) {
  if (!f.is_object()) return false;
  for (const char* key : {"width", "height"}) {
    const auto it = f.find(key);
    if (it == f.end() || !int_in(*it, 2, 8192) || it->get<int64_t>() % 2 != 0) return false;
  }
  const auto fps = f.find("fps");
  return fps != f.end() && int_in(*fps, 1, 240);
}

}  // namespace

std::string parse_model(const json& model, session::ModelInfo& out) {
  if (!model.is_object()) return "model must be an object";
  const auto name = model.find("name");
  if (name == model.end() || !name->is_string() ||
      !valid_streamer_id(name->get_ref<const std::string&>())) {
    return "model.name must be 1..64 of [A-Za-z0-9._-]";
  }
  out.name = name->get<std::string>();
  if (const auto v = model.find("version"); v != model.end()) {
    if (!v->is_string() || v->get_ref<const std::string&>().size() > 64) {
      return "model.version must be a string of at most 64 bytes";
    }
    out.version = v->get<std::string>();
  }
  if (const auto f = model.find("formats"); f != model.end()) {
    if (!f->is_object()) return "model.formats must be an object";
    for (const auto& [orientation, format] : f->items()) {
      if ((orientation != "landscape" && orientation != "portrait") || !valid_format(format)) {
        return "model.formats maps landscape and portrait to {width, height, fps}";
      }
    }
    out.formats = f->dump();
  }
  if (const auto p = model.find("params"); p != model.end()) {
    if (!p->is_object()) return "model.params must be an object";
    out.params = p->dump();
    if (out.params.size() > kMaxParamsBytes) return "model.params is over 16384 bytes";
  }
  if (const auto n = model.find("max_sessions"); n != model.end()) {
    if (!int_in(*n, 1, 64)) return "model.max_sessions must be an integer 1..64";
    out.max_sessions = static_cast<int>(n->get<int64_t>());
  }
  if (const auto i = model.find("image_to_video"); i != model.end()) {
    if (!i->is_boolean()) return "model.image_to_video must be a boolean";
    out.image_to_video = i->get<bool>();
  }
  return {};
}

std::string check_stream_params(const json& params) {
  if (!params.is_object()) return "params must be a JSON object";
  if (params.dump().size() > kMaxParamsBytes) return "params is over 16384 bytes";
  return {};
}

}  // namespace ithaca::signaling
