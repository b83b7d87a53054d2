// Prometheus metrics: counters, histograms and scrape-time gauges, rendered in the text
// exposition format (version 0.0.4) for GET /metrics. No Debian package offers this for C++,
// hence this small module. Thread-safe: counters and histograms are lock-free to update;
// families take a mutex only the first time a label value is seen.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace ithaca::metrics {

class Counter {
 public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  const std::vector<double>& bounds() const { return bounds_; }
  uint64_t bucket_count(size_t i) const { return counts_[i].load(std::memory_order_relaxed); }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket, not cumulative
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micro_{0};  // sum in millionths, so it can be atomic
};

// A metric with one label; children are created on first use and live as long as the family.
template <class T>
class Family {
 public:
  template <class... Args>
  Family(std::string label, Args... child_args)
      : label_(std::move(label)), make_([=] { return std::make_unique<T>(child_args...); }) {}
  T& with(const std::string& label_value) {
    std::lock_guard lock(mu_);
    auto& slot = children_[label_value];
    if (!slot) slot = make_();
    return *slot;
  }
  const std::string& label() const { return label_; }
  template <class F>
  void each(F&& f) const {
    std::lock_guard lock(mu_);
    for (const auto& [value, child] : children_) f(value, *child);
  }

 private:
  std::string label_;
  std::function<std::unique_ptr<T>()> make_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<T>> children_;
};

// Read at scrape time: a list of (label value, number) for a gauge with one label, or a single
// value with an empty label value for a gauge without one.
using GaugeReader = std::function<std::vector<std::pair<std::string, double>>()>;

// Read at scrape time, for a metric with several labels: (its label values, in the order of
// the label names given, number) per series.
using LabeledReader = std::function<std::vector<std::pair<std::vector<std::string>, double>>()>;

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Counter& counter(const std::string& name, const std::string& help);
  Family<Counter>& counter_family(const std::string& name, const std::string& help,
                                  const std::string& label);
  Family<Histogram>& histogram_family(const std::string& name, const std::string& help,
                                      const std::string& label, std::vector<double> bounds);
  // label may be empty for an unlabelled gauge.
  void gauge(const std::string& name, const std::string& help, const std::string& label,
             GaugeReader reader);

  // A counter kept by its owner (who bounds its label values), with several labels, read at
  // scrape time.
  void counter_reader(const std::string& name, const std::string& help,
                      std::vector<std::string> labels, LabeledReader reader);

  std::string render() const;

 private:
  struct Entry;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;  // in registration order
};

// Seconds: 0.1 ms .. 10 s, for request latency.
std::vector<double> latency_buckets();

}  // namespace ithaca::metrics
