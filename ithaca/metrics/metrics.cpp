#include "ithaca/metrics/metrics.hpp"

#include <cmath>
#include <sstream>
#include <variant>

namespace ithaca::metrics {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micro_.fetch_add(static_cast<uint64_t>(std::llround(std::max(0.0, value) * 1e6)),
                       std::memory_order_relaxed);
}

double Histogram::sum() const {
  return static_cast<double>(sum_micro_.load(std::memory_order_relaxed)) / 1e6;
}

struct Readout {
  std::vector<std::string> labels;
  LabeledReader reader;
};

struct Registry::Entry {
  std::string name, help, type;
  std::variant<std::unique_ptr<Counter>, std::unique_ptr<Family<Counter>>,
               std::unique_ptr<Family<Histogram>>, std::pair<std::string, GaugeReader>, Readout>
      metric;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Counter& Registry::counter(const std::string& name, const std::string& help) {
  std::lock_guard lock(mu_);
  auto c = std::make_unique<Counter>();
  Counter& ref = *c;
  entries_.push_back(std::make_unique<Entry>(Entry{name, help, "counter", std::move(c)}));
  return ref;
}

Family<Counter>& Registry::counter_family(const std::string& name, const std::string& help,
                                          const std::string& label) {
  std::lock_guard lock(mu_);
  auto f = std::make_unique<Family<Counter>>(label);
  auto& ref = *f;
  entries_.push_back(std::make_unique<Entry>(Entry{name, help, "counter", std::move(f)}));
  return ref;
}

Family<Histogram>& Registry::histogram_family(const std::string& name, const std::string& help,
                                              const std::string& label,
                                              std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  auto f = std::make_unique<Family<Histogram>>(label, std::move(bounds));
  auto& ref = *f;
  entries_.push_back(std::make_unique<Entry>(Entry{name, help, "histogram", std::move(f)}));
  return ref;
}

void Registry::gauge(const std::string& name, const std::string& help, const std::string& label,
                     GaugeReader reader) {
  std::lock_guard lock(mu_);
  entries_.push_back(std::make_unique<Entry>(
      Entry{name, help, "gauge", std::make_pair(label, std::move(reader))}));
}

void Registry::counter_reader(const std::string& name, const std::string& help,
                              std::vector<std::string> labels, LabeledReader reader) {
  std::lock_guard lock(mu_);
  entries_.push_back(std::make_unique<Entry>(
      Entry{name, help, "counter", Readout{std::move(labels), std::move(reader)}}));
}

namespace {

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string labels(const std::string& name, const std::string& value,
                   const std::string& extra = "") {
  std::string s;
  if (!name.empty()) s = name + "=\"" + escape_label(value) + "\"";
  if (!extra.empty()) s += (s.empty() ? "" : ",") + extra;
  return s.empty() ? "" : "{" + s + "}";
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream o;
  o.precision(15);
  o << v;
  return o.str();
}

void render_histogram(std::ostringstream& out, const std::string& name, const std::string& label,
                      const std::string& value, const Histogram& h) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= h.bounds().size(); ++i) {
    cumulative += h.bucket_count(i);
    const std::string le =
        "le=\"" + (i < h.bounds().size() ? number(h.bounds()[i]) : std::string("+Inf")) + "\"";
    out << name << "_bucket" << labels(label, value, le) << ' ' << cumulative << '\n';
  }
  out << name << "_sum" << labels(label, value) << ' ' << number(h.sum()) << '\n';
  out << name << "_count" << labels(label, value) << ' ' << h.count() << '\n';
}

}  // namespace

std::string Registry::render() const {
  std::lock_guard lock(mu_);
  std::ostringstream out;
  for (const auto& e : entries_) {
    out << "# HELP " << e->name << ' ' << e->help << '\n';
    out << "# TYPE " << e->name << ' ' << e->type << '\n';
    if (auto* c = std::get_if<std::unique_ptr<Counter>>(&e->metric)) {
      out << e->name << ' ' << (*c)->value() << '\n';
    } else if (auto* cf = std::get_if<std::unique_ptr<Family<Counter>>>(&e->metric)) {
      (*cf)->each([&](const std::string& v, const Counter& c) {
        out << e->name << labels((*cf)->label(), v) << ' ' << c.value() << '\n';
      });
    } else if (auto* hf = std::get_if<std::unique_ptr<Family<Histogram>>>(&e->metric)) {
      (*hf)->each([&](const std::string& v, const Histogram& h) {
        render_histogram(out, e->name, (*hf)->label(), v, h);
      });
    } else if (auto* g = std::get_if<std::pair<std::string, GaugeReader>>(&e->metric)) {
      for (const auto& [v, x] : g->second()) {
        out << e->name << labels(g->first, v) << ' ' << number(x) << '\n';
      }
    } else if (auto* ro = std::get_if<Readout>(&e->metric)) {
      for (const auto& [values, x] : ro->reader()) {
        std::string set;
        for (size_t i = 0; i < ro->labels.size() && i < values.size(); ++i) {
          set += (i ? "," : "") + ro->labels[i] + "=\"" + escape_label(values[i]) + "\"";
        }
        out << e->name << (set.empty() ? "" : "{" + set + "}") << ' ' << number(x) << '\n';
      }
    }
  }
  return out.str();
}

std::vector<double> latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 10};
}

}  // namespace ithaca::metrics
