#include "ithaca/model/model_info.hpp"

#include <algorithm>

namespace ithaca::model {
namespace {

using nlohmann::json;

Error bad(const std::string& what) {
  return make_error(ErrorCode::invalid_request, "hello: " + what);
}

bool valid_name(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

Result<media::StreamFormat> parse_format(const json& formats, const char* key) {
  const auto f = formats.find(key);
  if (f == formats.end() || !f->is_object()) return bad(std::string("formats.") + key);
  const auto w = f->find("width"), h = f->find("height"), fps = f->find("fps");
  if (w == f->end() || h == f->end() || fps == f->end() || !w->is_number_integer() ||
      !h->is_number_integer() || !fps->is_number_integer()) {
    return bad(std::string("formats.") + key + " needs integer width, height and fps");
  }
  media::StreamFormat out{w->get<int>(), h->get<int>(), fps->get<int>()};
  if (out.width < 16 || out.height < 16 || out.width > 4096 || out.height > 4096 || out.width % 2 ||
      out.height % 2 || out.frame_rate < 1 || out.frame_rate > 120) {
    return bad(std::string("formats.") + key +
               ": width and height must be even, 16..4096; fps 1..120");
  }
  return out;
}

}  // namespace

std::size_t ModelInfo::max_frame_bytes() const {
  const auto bytes = [](const media::StreamFormat& f) {
    return static_cast<std::size_t>(f.width) * f.height * 3;
  };
  return std::max(bytes(landscape), bytes(portrait));
}

json ModelInfo::to_register_json() const {
  const auto f = [](const media::StreamFormat& s) {
    return json{{"width", s.width}, {"height", s.height}, {"fps", s.frame_rate}};
  };
  return {{"name", name},
          {"version", version},
          {"formats", {{"landscape", f(landscape)}, {"portrait", f(portrait)}}},
          {"params", params},
          {"max_sessions", max_sessions},
          {"image_to_video", image_to_video}};
}

Result<ModelInfo> parse_hello(const json& hello) {
  if (hello.value("protocol", 0) != 1) return bad("protocol must be 1");
  ModelInfo info;
  const auto model = hello.find("model");
  if (model == hello.end() || !model->is_object()) return bad("model must be an object");
  info.name = model->value("name", "");
  info.version = model->value("version", "");
  if (!valid_name(info.name)) return bad("model.name must be 1..64 of [A-Za-z0-9._-]");
  if (info.version.size() > 64) return bad("model.version over 64 bytes");
  const auto k = hello.find("max_sessions");
  if (k == hello.end() || !k->is_number_integer() || k->get<int>() < 1 || k->get<int>() > 64) {
    return bad("max_sessions must be an integer 1..64");
  }
  info.max_sessions = k->get<int>();
  info.image_to_video = hello.value("image_to_video", false);
  const auto formats = hello.find("formats");
  if (formats == hello.end() || !formats->is_object()) return bad("formats must be an object");
  auto landscape = parse_format(*formats, "landscape");
  if (!landscape) return landscape.error();
  auto portrait = parse_format(*formats, "portrait");
  if (!portrait) return portrait.error();
  info.landscape = *landscape;
  info.portrait = *portrait;
  if (const auto p = hello.find("params"); p != hello.end()) {
    if (!p->is_object() || p->dump().size() > 16384) return bad("params must be an object");
    for (const auto& [key, spec] : p->items()) {
      const std::string type = spec.is_object() ? spec.value("type", "") : "";
      if (type != "integer" && type != "number" && type != "string" && type != "boolean") {
        return bad("params." + key + ".type must be integer, number, string or boolean");
      }
    }
    info.params = *p;
  }
  return info;
}

Status check_params(const json& schema, const json& params) {
  const auto refuse = [](const std::string& why) {
    return make_error(ErrorCode::invalid_params, why);
  };
  if (!params.is_object()) return refuse("params must be an object");
  for (const auto& [key, value] : params.items()) {
    const auto spec = schema.find(key);
    if (spec == schema.end()) {
      std::string known;
      for (const auto& [k, v] : schema.items()) known += (known.empty() ? "" : ", ") + k;
      return refuse("params." + key + " is not a parameter of this model (it takes: " +
                    (known.empty() ? "none" : known) + ")");
    }
    const std::string type = spec->value("type", "");
    const bool type_ok = (type == "integer" && value.is_number_integer()) ||
                         (type == "number" && value.is_number()) ||
                         (type == "string" && value.is_string()) ||
                         (type == "boolean" && value.is_boolean());
    if (!type_ok)
      return refuse("params." + key + " must be " + (type == "integer" ? "an " : "a ") + type);
    if (value.is_number()) {
      const double v = value.get<double>();
      if (const auto m = spec->find("minimum");
          m != spec->end() && m->is_number() && v < m->get<double>()) {
        return refuse("params." + key + " must be at least " + m->dump());
      }
      if (const auto m = spec->find("maximum");
          m != spec->end() && m->is_number() && v > m->get<double>()) {
        return refuse("params." + key + " must be at most " + m->dump());
      }
    }
    if (value.is_string()) {
      if (const auto m = spec->find("max_length");
          m != spec->end() && m->is_number_integer() &&
          value.get_ref<const std::string&>().size() > m->get<std::size_t>()) {
        return refuse("params." + key + " is longer than " + m->dump() + " bytes");
      }
    }
  }
  return ok_status();
}

}  // namespace ithaca::model
