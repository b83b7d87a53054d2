// Broadcast fan-out cost: what each spectator costs the streamer, and how soon one sees video.
//
// A node runs in this process; the streamer is a separate `ithaca streamer` process (x264,
// 1280x704 at 30 fps, --bitrate, default 2500 kbit/s), so its CPU (utime + stime from
// /proc/<pid>/stat) is the streamer's alone. A host (WebRtcTestClient) starts a stream with
// broadcast: true. Then receive-only WHEP spectators (WhepViewer without decoding: they cost
// this process little and the streamer nothing extra) join in steps, and the streamer's CPU is
// measured over a window at each count. The cost per spectator is the least-squares slope of
// CPU against count. Every spectator must keep receiving packets (checked per window).
//
// Then spectator time to first frame: `--joins` spectators that decode (openh264) join one at a
// time; each time is from the WHEP POST to the first decoded frame.
//
// Both ways a streamer can send spectators their media are measured in the same run, one after
// the other with a fresh streamer each (`--spectator-send`): `direct` (the broadcast's fan-out
// encrypts and sends, the default) and `webrtcbin` (a webrtcbin send path per spectator, the
// baseline), so their ratio is read off one machine state.
//
//   build/<preset>/bench/spectator_bench --ithaca build/<preset>/apps/ithaca/ithaca
//       [--max 32] [--step 8] [--window 10] [--joins 20] [--bitrate 2500]
//       [--modes direct,webrtcbin] [--out FILE.json]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "test_node.hpp"
#include "webrtc_test_client.hpp"
#include "whep_viewer.hpp"

namespace {

using namespace ithaca;
using namespace ithaca::testing;
using nlohmann::json;
using namespace std::chrono_literals;

struct Flags {
  std::string ithaca;
  int max = 32;
  int step = 8;
  int window_s = 10;
  int joins = 20;
  int bitrate = 2500;
  std::vector<std::string> modes = {"direct", "webrtcbin"};
  std::string out;
};

Flags parse(int argc, char** argv) {
  Flags f;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--ithaca")
      f.ithaca = v;
    else if (k == "--max")
      f.max = std::stoi(v);
    else if (k == "--step")
      f.step = std::stoi(v);
    else if (k == "--window")
      f.window_s = std::stoi(v);
    else if (k == "--joins")
      f.joins = std::stoi(v);
    else if (k == "--bitrate")
      f.bitrate = std::stoi(v);
    else if (k == "--out")
      f.out = v;
    else if (k == "--modes") {
      f.modes.clear();
      std::istringstream list(v);
      for (std::string m; std::getline(list, m, ',');) f.modes.push_back(m);
    } else
      throw std::runtime_error("unknown flag " + k);
  }
  if (f.ithaca.empty()) throw std::runtime_error("--ithaca PATH is required");
  return f;
}

double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {  // proc(5) numbering
    if (i == 14) utime = std::stod(field);
    if (i == 15) {
      stime = std::stod(field);
      break;
    }
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double rss_mib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

// The streamer's CPU over `seconds`, as % of one core.
double cpu_percent(pid_t pid, int seconds) {
  const auto t0 = std::chrono::steady_clock::now();
  const double c0 = cpu_seconds(pid);
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return (cpu_seconds(pid) - c0) / wall * 100.0;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = p * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

// One streamer sending spectators their media `mode`'s way: the sweep, then the joins.
json measure(const Flags& flags, TestNode& node, const std::string& key, const std::string& mode) {
  const std::string secret_file = node.data_dir() + "/bench-streamer.secret";
  std::ofstream(secret_file) << node.server().streamer_secret() << "\n";
  ChildProcess streamer({flags.ithaca, "streamer", "--server",
                         "ws://127.0.0.1:" + std::to_string(node.port()), "--secret-file",
                         secret_file, "--id", "bench-streamer-" + mode, "--capacity", "2",
                         "--bitrate", std::to_string(flags.bitrate), "--spectator-send", mode,
                         "--log-level", "warn"});
  for (int i = 0; i < 100 && node.call("GET", "/v1/usage", key).status != 200; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  json creds;
  for (int i = 0; i < 100; ++i) {  // until the streamer registered
    auto r = node.call("POST", "/v1/client_credentials", key, "{}");
    if (r.status == 201) {
      creds = r.body;
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  if (creds.is_null()) throw std::runtime_error("the streamer never registered");

  WebRtcTestClient host;
  host.connect(creds);
  if (!host.wait_frames(10)) throw std::runtime_error("the host got no video");
  host.send_command({{"type", "interactive_stream_start"},
                     {"prompt", "a harbour at dawn"},
                     {"portrait", false},
                     {"broadcast", true}});
  json ready = json::object();
  for (int i = 0; i < 5 && ready.value("type", "") != "broadcast_ready"; ++i) {
    ready = host.next_event(5s).value_or(json::object());
  }
  if (ready.value("type", "") != "broadcast_ready") throw std::runtime_error("no broadcast_ready");
  const std::string url = ready["webrtc_url"], token = ready["spectator_token"];
  std::this_thread::sleep_for(2s);

  std::cout << "\n--spectator-send " << mode << "\n"
            << "spectators  streamer_cpu_%  streamer_rss_mib  min_packets_per_s_per_viewer\n";
  json points = json::array();
  std::vector<std::unique_ptr<WhepViewer>> viewers;
  for (int n = 0; n <= flags.max; n += flags.step) {
    while (static_cast<int>(viewers.size()) < n) {
      auto v = std::make_unique<WhepViewer>(/*decode=*/false);
      auto r = v->connect(url, token);
      if (!r || r->status != 201) {
        throw std::runtime_error(
            "a spectator was refused: " +
            (r ? std::to_string(r->status) + " " + r->body : r.error().to_string()));
      }
      viewers.push_back(std::move(v));
    }
    for (auto& v : viewers) {
      if (!v->wait_frames(1, 10s)) throw std::runtime_error("a spectator received nothing");
    }
    std::this_thread::sleep_for(2s);  // key frames for the newcomers, settle
    std::vector<int> before;
    for (auto& v : viewers) before.push_back(v->frames());
    const double cpu = cpu_percent(streamer.pid(), flags.window_s);
    double min_rate = viewers.empty() ? 0 : 1e9;
    for (size_t i = 0; i < viewers.size(); ++i) {
      min_rate = std::min(min_rate, (viewers[i]->frames() - before[i]) / double(flags.window_s));
    }
    const double rss = rss_mib(streamer.pid());
    std::printf("%10d  %14.1f  %16.1f  %28.0f\n", n, cpu, rss, min_rate);
    std::fflush(stdout);
    points.push_back({{"spectators", n},
                      {"streamer_cpu_percent", cpu},
                      {"streamer_rss_mib", rss},
                      {"min_packets_per_s", min_rate}});
  }
  viewers.clear();

  // Least squares: cpu = a + slope * n.
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& p : points) {
    const double x = p["spectators"], y = p["streamer_cpu_percent"];
    sx += x, sy += y, sxx += x * x, sxy += x * y;
  }
  const double k = static_cast<double>(points.size());
  const double slope = (k * sxy - sx * sy) / (k * sxx - sx * sx);
  const double intercept = (sy - slope * sx) / k;

  std::this_thread::sleep_for(2s);
  std::vector<double> ttff;
  for (int i = 0; i < flags.joins; ++i) {
    WhepViewer v(/*decode=*/true);
    auto r = v.connect(url, token);
    if (r && r->status == 201 && v.wait_frames(1, 5s)) {
      ttff.push_back(v.time_to_first_frame()->count() / 1000.0);
      if (i < 3) std::printf("join %d: %s\n", i, v.timeline().c_str());
    }
    (void)v.leave();
  }
  std::printf("cost per spectator: %.3f %% of a core (intercept %.1f %%), %.0f spectators/core\n",
              slope, intercept, slope > 0 ? 100.0 / slope : 0.0);
  std::printf(
      "spectator time to first frame (POST to first decoded frame, %zu of %d joins): "
      "median %.1f ms, p90 %.1f ms\n",
      ttff.size(), flags.joins, percentile(ttff, 0.5), percentile(ttff, 0.9));
  host.disconnect();
  return {{"spectator_send", mode},
          {"points", points},
          {"cpu_percent_per_spectator", slope},
          {"intercept_percent", intercept},
          {"ttff_ms", ttff},
          {"ttff_median_ms", percentile(ttff, 0.5)},
          {"ttff_p90_ms", percentile(ttff, 0.9)}};
}

int run(const Flags& flags) {
  TestNode node([](config::Config& c) { c.max_spectators = 1000; });
  const std::string key = node.create_key("bench", 2);
  json results = json::array();
  for (const auto& mode : flags.modes) {
    results.push_back(measure(flags, node, key, mode));
    std::this_thread::sleep_for(3s);  // the streamer's lease lapses; the next one registers
  }
  std::printf("\n%-10s  %-22s  %-14s  %-16s\n", "send", "cpu %/spectator (/core)", "ttff median ms",
              "rss at max, MiB");
  for (const auto& r : results) {
    const double slope = r["cpu_percent_per_spectator"];
    std::printf("%-10s  %8.3f (%5.0f)          %14.1f  %16.1f\n",
                r["spectator_send"].get<std::string>().c_str(), slope,
                slope > 0 ? 100.0 / slope : 0.0, r["ttff_median_ms"].get<double>(),
                r["points"].back()["streamer_rss_mib"].get<double>());
  }
  if (results.size() == 2) {
    std::printf("per-spectator cost, %s / %s: %.2f\n",
                results[0]["spectator_send"].get<std::string>().c_str(),
                results[1]["spectator_send"].get<std::string>().c_str(),
                results[0]["cpu_percent_per_spectator"].get<double>() /
                    results[1]["cpu_percent_per_spectator"].get<double>());
  }
  if (!flags.out.empty()) {
    std::ofstream(flags.out) << json{{"bench", "spectator"},
                                     {"bitrate_kbps", flags.bitrate},
                                     {"window_s", flags.window_s},
                                     {"results", results}}
                                    .dump(2)
                             << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::cerr << "spectator_bench: " << e.what() << "\n";
    return 1;
  }
}
