#include "ithaca/model/model_source.hpp"

namespace ithaca::model {

ModelSource::ModelSource(std::shared_ptr<LaneLease> lease, ModelInfo info)
    : lease_(std::move(lease)), info_(std::move(info)) {}

ModelSource::~ModelSource() {
  end();
}

Result<media::AppliedPrompt> ModelSource::start(const media::StreamStart& request) {
  {
    std::lock_guard lock(mu_);
    if (phase_ == Phase::ended) return make_error(ErrorCode::session_ended);
    if (phase_ == Phase::running) {
      return make_error(ErrorCode::invalid_request, "the stream already started");
    }
  }
  if (request.prompt.size() > media::kMaxPromptBytes) {
    return make_error(ErrorCode::invalid_request, "prompt over 4096 bytes");
  }
  if (request.start_image && !info_.image_to_video) {
    return make_error(ErrorCode::capability_missing, "this model does not take start images");
  }
  if (auto s = check_params(info_.params, request.params); !s) return s.error();
  StreamRequest r;
  r.prompt = request.prompt;
  r.portrait = request.portrait;
  r.sequence = 1;
  r.params = request.params;
  r.image = request.start_image ? &*request.start_image : nullptr;
  r.on_fault = request.on_fault;
  r.on_answer = request.on_answer;
  auto started = lease_->worker().start_stream(lease_->lane(), r);
  if (!started) return started.error();
  std::lock_guard lock(mu_);
  phase_ = Phase::running;
  portrait_ = request.portrait;
  generation_ = started->second;
  applied_ = {started->first, 1};
  return applied_;
}

Result<media::AppliedPrompt> ModelSource::interact(std::string_view prompt) {
  std::lock_guard lock(mu_);
  if (phase_ == Phase::ended) return make_error(ErrorCode::session_ended);
  if (phase_ != Phase::running) return make_error(ErrorCode::invalid_request, "not started");
  if (prompt.empty() || prompt.size() > media::kMaxPromptBytes) {
    return make_error(ErrorCode::invalid_request, "the prompt must be 1..4096 bytes");
  }
  const auto sequence = static_cast<uint16_t>(applied_.sequence + 1);
  if (auto s =
          lease_->worker().interact(lease_->lane(), generation_, std::string(prompt), sequence);
      !s) {
    return s.error();
  }
  // The model applies it from its next step; its answer (the applied prompt, or why not) comes
  // through on_answer.
  applied_ = {std::string(prompt), sequence};
  return applied_;
}

void ModelSource::end() {
  std::lock_guard lock(mu_);
  if (phase_ == Phase::running) lease_->worker().end_stream(lease_->lane(), generation_);
  phase_ = Phase::ended;
}

Status ModelSource::render(media::VideoFrame& out, int64_t frame_index) {
  uint64_t generation;
  {
    std::lock_guard lock(mu_);
    if (phase_ == Phase::ended) return make_error(ErrorCode::session_ended);
    if (phase_ != Phase::running || frame_index < 0) {
      return make_error(ErrorCode::invalid_request, "not started");
    }
    generation = generation_;
  }
  auto s = lease_->worker().render(lease_->lane(), generation, out);
  out.index = frame_index;
  return s;
}

media::AppliedPrompt ModelSource::applied_prompt() const {
  std::lock_guard lock(mu_);
  return applied_;
}

media::StreamFormat ModelSource::format() const {
  std::lock_guard lock(mu_);
  return info_.format(portrait_);
}

}  // namespace ithaca::model
