#include "audit/detection_state.h"

#include <algorithm>
#include <deque>
#include <map>
#include <iterator>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_set>

#include <nlohmann/json.hpp>

namespace hangar::audit {
namespace {

using json = nlohmann::json;

constexpr std::string_view kWindows = "audit.detect.window";
constexpr std::string_view kSources = "audit.detect.source";
// Addresses remembered per principal: enough for any real fleet, bounded for a hostile one.
constexpr size_t kSourcesPerPrincipal = 1000;
// Lost races for one document before giving up (another node keeps winning: it counted too).
constexpr int kCommitAttempts = 50;

// A short, random, growing wait after a lost race, so that nodes counting at once take turns.
void BackOff(int attempt) {
  thread_local std::minstd_rand random(std::random_device{}());
  const int cap_us = std::min(5000, 100 * (attempt + 1));
  std::this_thread::sleep_for(
      std::chrono::microseconds(std::uniform_int_distribution<int>(0, cap_us)(random)));
}

// One sliding window: the hits within it, their total weight and the records behind them. Hits
// are kept in time order by the second they fell in (one entry per second, so a window's size is
// bounded by its length, not by its threshold), and the window reaches back from its newest hit:
// cluster nodes add their batches in whatever order they commit, so a hit may come in late.
struct Window {
  std::deque<std::pair<int64_t, int64_t>> hits;  // (unix ms of the second, weight), oldest first
  int64_t total = 0;
  std::vector<std::string> event_ids;

  void Add(const BurstHit& hit, size_t index, const BurstRule& rule,
           std::vector<BurstFired>& fired) {
    const int64_t second = ToUnixMillis(hit.time) / 1000 * 1000;
    auto at = hits.end();
    while (at != hits.begin() && std::prev(at)->first > second) --at;
    if (at != hits.begin() && std::prev(at)->first == second) {
      std::prev(at)->second += hit.weight;
    } else {
      hits.insert(at, {second, hit.weight});
    }
    total += hit.weight;
    const int64_t window_ms = std::chrono::milliseconds(rule.window).count();
    while (hits.front().first < hits.back().first - window_ms) {
      total -= hits.front().second;
      hits.pop_front();
    }
    event_ids.push_back(hit.event_id);
    if (event_ids.size() > kBurstEventIds) event_ids.erase(event_ids.begin());
    if (total < rule.threshold) return;
    fired.push_back({index, std::move(event_ids)});
    hits.clear();
    total = 0;
    event_ids.clear();
  }

  std::vector<BurstFired> AddAll(const std::vector<BurstHit>& new_hits, const BurstRule& rule) {
    std::vector<BurstFired> fired;
    for (size_t i = 0; i < new_hits.size(); ++i) Add(new_hits[i], i, rule, fired);
    return fired;
  }

  std::string Encode() const {
    json j = {{"hits", json::array()}, {"ids", event_ids}};
    for (const auto& [ms, weight] : hits) j["hits"].push_back({ms, weight});
    return j.dump();
  }

  static Result<Window> Decode(std::string_view body) {
    json j = json::parse(body, nullptr, false);
    if (!j.is_object() || !j["hits"].is_array() || !j["ids"].is_array()) {
      return InternalError("a detection window document is malformed");
    }
    Window w;
    for (const json& h : j["hits"]) {
      if (!h.is_array() || h.size() != 2 || !h[0].is_number_integer() ||
          !h[1].is_number_integer()) {
        return InternalError("a detection window document is malformed");
      }
      w.hits.emplace_back(h[0].get<int64_t>(), h[1].get<int64_t>());
      w.total += h[1].get<int64_t>();
    }
    for (const json& id : j["ids"]) {
      if (id.is_string()) w.event_ids.push_back(id.get<std::string>());
    }
    return w;
  }
};

class MemoryDetectionState final : public DetectionState {
 public:
  Result<std::vector<BurstFired>> Count(const std::string& name,
                                        const std::vector<BurstHit>& hits,
                                        const BurstRule& rule) override {
    std::lock_guard lock(mu_);
    return windows_[name].AddAll(hits, rule);
  }

  Result<bool> NewSource(const std::string& principal, const std::string& source) override {
    std::lock_guard lock(mu_);
    std::set<std::string>& seen = sources_[principal];
    const bool is_new = !seen.empty() && !seen.count(source);
    if (seen.size() < kSourcesPerPrincipal) seen.insert(source);
    return is_new;
  }

 private:
  std::mutex mu_;
  std::map<std::string, Window> windows_;
  std::map<std::string, std::set<std::string>> sources_;
};

class SharedDetectionState final : public DetectionState {
 public:
  explicit SharedDetectionState(store::MetadataStore& store) : store_(store) {}

  Result<std::vector<BurstFired>> Count(const std::string& name,
                                        const std::vector<BurstHit>& hits,
                                        const BurstRule& rule) override {
    for (int attempt = 0; attempt < kCommitAttempts; ++attempt) {
      HANGAR_ASSIGN_OR_RETURN(std::optional<store::Document> doc, store_.Get(kWindows, "", name));
      Window window;
      if (doc) {
        HANGAR_ASSIGN_OR_RETURN(window, Window::Decode(doc->body));
      }
      std::vector<BurstFired> fired = window.AddAll(hits, rule);
      store::Document next{std::string(kWindows), "", name, window.Encode(), 0, 0};
      auto committed = store_.Commit({doc ? store::Mutation::Update(std::move(next), doc->revision)
                                          : store::Mutation::Create(std::move(next))});
      if (committed.ok()) return fired;
      if (committed.status().code() != ErrorCode::kConflict) return committed.status();
      BackOff(attempt);
    }
    return InternalError("detection window " + name + ": every commit lost a race");
  }

  Result<bool> NewSource(const std::string& principal, const std::string& source) override {
    const std::string pair = principal + '\n' + source;
    {
      std::lock_guard lock(mu_);
      if (known_.count(pair)) return false;  // in the shared set: not new to anyone
    }
    for (int attempt = 0; attempt < kCommitAttempts; ++attempt) {
      HANGAR_ASSIGN_OR_RETURN(std::optional<store::Document> doc,
                              store_.Get(kSources, "", principal));
      json sources = json::array();
      if (doc) {
        json parsed = json::parse(doc->body, nullptr, false);
        if (parsed.is_object() && parsed["sources"].is_array()) sources = parsed["sources"];
      }
      if (std::find(sources.begin(), sources.end(), source) != sources.end()) {
        Remember(pair);
        return false;
      }
      const bool is_new = !sources.empty();
      if (sources.size() >= kSourcesPerPrincipal) return is_new;
      sources.push_back(source);
      store::Document next{std::string(kSources), "", principal,
                           json{{"sources", sources}}.dump(), 0, 0};
      auto committed = store_.Commit({doc ? store::Mutation::Update(std::move(next), doc->revision)
                                          : store::Mutation::Create(std::move(next))});
      if (committed.ok()) {
        Remember(pair);
        return is_new;
      }
      if (committed.status().code() != ErrorCode::kConflict) return committed.status();
      BackOff(attempt);
    }
    return InternalError("decrypt sources of " + principal + ": every commit lost a race");
  }

 private:
  void Remember(const std::string& pair) {
    std::lock_guard lock(mu_);
    if (known_.size() >= 100000) known_.clear();  // a cache: forgetting costs one read
    known_.insert(pair);
  }

  store::MetadataStore& store_;
  std::mutex mu_;
  // (principal, address) pairs known to be in the store: a Decrypt from a known address, the
  // common case, costs no read.
  std::unordered_set<std::string> known_;
};

}  // namespace

std::unique_ptr<DetectionState> MakeMemoryDetectionState() {
  return std::make_unique<MemoryDetectionState>();
}

std::unique_ptr<DetectionState> MakeSharedDetectionState(store::MetadataStore& store) {
  return std::make_unique<SharedDetectionState>(store);
}

std::vector<std::string> DetectionStateCollections() {
  return {std::string(kWindows), std::string(kSources)};
}

}  // namespace hangar::audit
