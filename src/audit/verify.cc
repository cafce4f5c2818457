#include "audit/verify.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "audit/digest.h"
#include "common/files.h"
#include "common/strings.h"
#include "crypto/digest.h"
#include "crypto/rsa_signing.h"

namespace hangar::audit {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> ListNames(const std::string& dir, std::string_view suffix) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.ends_with(suffix)) names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string Iso(TimePoint t) { return FormatIso8601(t, false); }

struct LoadedDigest {
  std::string path;  // digests/....json
  std::string sha256_hex;
  std::string signature_hex;
  std::optional<Digest> digest;
};

}  // namespace

VerifyReport VerifyTrail(const VerifyOptions& options) {
  VerifyReport report;
  const std::string digests_dir = options.dir + "/" + std::string(kDigestsDir);
  const std::string logs_dir = options.dir + "/" + std::string(kLogsDir);

  // A retention cut: the chain legitimately starts at the digest its signed marker names.
  std::optional<RetentionCut> cut;
  if (auto marker = ReadSmallFile(digests_dir + "/" + std::string(kRetentionMarker), 64 * 1024);
      marker.ok()) {
    auto parsed = ParseRetention(*marker);
    auto sig = ReadSmallFile(digests_dir + "/" + std::string(kRetentionMarker) + ".sig", 4096);
    auto signature = sig.ok() ? HexDecode(SignatureText(*sig)) : std::nullopt;
    if (parsed.ok() && signature &&
        crypto::RsaSha256Verify(options.public_der,
                                RetentionStringToSign(crypto::Sha256Hex(*marker)), *signature)) {
      cut = *parsed;
    } else {
      report.problems.push_back("the retention marker digests/" + std::string(kRetentionMarker) +
                                " was altered or is not signed by the trail's digest key");
    }
  }

  std::vector<LoadedDigest> chain;
  for (const std::string& name : ListNames(digests_dir, ".json")) {
    if (name == kRetentionMarker) continue;
    if (cut && std::string(kDigestsDir) + "/" + name < cut->first_digest) {
      // Expired, left by a cut the server had not finished (it finishes at its next start).
      continue;
    }
    LoadedDigest loaded;
    loaded.path = std::string(kDigestsDir) + "/" + name;
    const std::string full = options.dir + "/" + loaded.path;
    auto text = ReadSmallFile(full, 64 << 20);
    if (!text.ok()) {
      report.problems.push_back("digest " + loaded.path + " cannot be read: " +
                                text.status().message());
      continue;
    }
    loaded.sha256_hex = crypto::Sha256Hex(*text);
    auto parsed = ParseDigest(*text);
    if (!parsed.ok()) {
      report.problems.push_back("digest " + loaded.path + " was altered: " +
                                parsed.status().message());
    } else {
      loaded.digest = std::move(parsed).value();
    }
    auto sig = ReadSmallFile(full + ".sig", 4096);
    if (sig.ok()) loaded.signature_hex = SignatureText(*sig);
    chain.push_back(std::move(loaded));
  }
  // Within the requested window only (a digest outside it still anchors the link of the next).
  auto in_window = [&](const Digest& d) {
    return (!options.from || d.end >= *options.from) && (!options.to || d.start <= *options.to);
  };

  std::set<std::string> listed;
  uint64_t covered = 0;
  std::optional<TimePoint> newest_end;
  // Log sequence ranges whose digest was deleted: their files are unchecked, not inserted.
  struct Orphaned {
    uint64_t after;
    uint64_t through;
    std::string digest;
  };
  std::vector<Orphaned> orphaned;
  const LoadedDigest* previous = nullptr;
  for (const LoadedDigest& loaded : chain) {
    if (!loaded.digest) {
      previous = &loaded;
      continue;
    }
    const Digest& d = *loaded.digest;
    const uint64_t covered_before = covered;
    covered = std::max(covered, d.log_sequence_end);
    if (!newest_end || d.end > *newest_end) newest_end = d.end;
    for (const LogFileEntry& log : d.logs) listed.insert(log.path);
    const bool checked = in_window(d);
    if (checked) {
      ++report.digests_checked;
      if (!report.first_start || d.start < *report.first_start) report.first_start = d.start;
      if (!report.last_end || d.end > *report.last_end) report.last_end = d.end;
    }
    // The signature, over the digest's own bytes and its predecessor's signature.
    auto signature = HexDecode(loaded.signature_hex);
    if (checked && (d.path != loaded.path || !signature ||
                    !crypto::RsaSha256Verify(options.public_der,
                                             DigestStringToSign(d, loaded.sha256_hex),
                                             *signature))) {
      report.problems.push_back(
          "digest " + loaded.path + " was altered or is not signed by the trail's digest key" +
          (d.path != loaded.path ? " (it names itself " + d.path + ")" : ""));
    }
    // The link to the previous digest.
    if (!d.previous) {
      if (previous != nullptr && checked) {
        report.problems.push_back("digest " + loaded.path +
                                  " starts a new chain although " + previous->path +
                                  " precedes it: a digest was inserted");
      }
    } else if (previous == nullptr && cut && cut->first_digest == loaded.path &&
               cut->removed.path == d.previous->path &&
               cut->removed.sha256_hex == d.previous->sha256_hex &&
               cut->removed.signature_hex == d.previous->signature_hex) {
      // The head of a chain shortened by retention: its predecessor was removed on purpose.
    } else if (previous == nullptr || previous->path != d.previous->path) {
      // The digest it names is gone: deleted (or, at the head of the chain, never kept).
      orphaned.push_back({previous ? covered_before : 0, d.log_sequence_end, d.previous->path});
      if (checked) {
        std::string gap = previous && previous->digest ? Iso(previous->digest->end)
                                                       : std::string("the trail's start");
        report.problems.push_back(
            "digest " + d.previous->path + " was deleted: the chain breaks " +
            (previous ? "between " + previous->path + " and " + loaded.path
                      : "before " + loaded.path) +
            " (no digest covers " + gap + " to " + Iso(d.start) + ")");
      }
    } else if (checked && (previous->sha256_hex != d.previous->sha256_hex ||
                           previous->signature_hex != d.previous->signature_hex)) {
      report.problems.push_back("digest " + previous->path + " was altered (" + loaded.path +
                                " holds another hash or signature for it)");
    }
    if (checked && previous != nullptr && previous->digest && d.start != previous->digest->end &&
        d.previous && previous->path == d.previous->path) {
      report.problems.push_back("digest " + loaded.path + " does not start where " +
                                previous->path + " ends");
    }
    // The log files it lists.
    if (checked) {
      for (const LogFileEntry& log : d.logs) {
        ++report.logs_checked;
        auto text = ReadSmallFile(options.dir + "/" + log.path, 1ULL << 34);
        if (!text.ok()) {
          report.problems.push_back("log file " + log.path + " listed in " + loaded.path +
                                    " was deleted (it held records from " +
                                    log.oldest_event_time + " to " + log.newest_event_time + ")");
        } else if (crypto::Sha256Hex(*text) != log.sha256_hex) {
          report.problems.push_back("log file " + log.path + " was altered (its SHA-256 is not "
                                    "the one " + loaded.path + " lists)");
        }
      }
    }
    previous = &loaded;
  }
  // Log files no digest lists: inserted if they claim a place the chain already covers.
  for (const std::string& name : ListNames(logs_dir, ".jsonl")) {
    const std::string path = std::string(kLogsDir) + "/" + name;
    if (listed.count(path)) continue;
    auto sequence = SequenceOf(name);
    auto time = TimeOf(name);
    // A file opened after the newest digest is the live one (or a crash's): not yet covered. One
    // that claims an earlier time would have been closed and listed by that digest.
    if (sequence && *sequence > covered && (!newest_end || !time || *time >= *newest_end)) {
      report.undigested.push_back(path);
      continue;
    }
    const Orphaned* lost = nullptr;
    for (const Orphaned& range : orphaned) {
      if (sequence && *sequence > range.after && *sequence <= range.through) lost = &range;
    }
    if (lost != nullptr) {
      report.problems.push_back("log file " + path + " cannot be checked: the digest that listed "
                                "it, " + lost->digest + ", was deleted");
      continue;
    }
    if (time && ((options.from && *time < *options.from) || (options.to && *time > *options.to))) {
      continue;
    }
    report.problems.push_back("log file " + path + " is not listed by any digest: it was inserted");
  }
  return report;
}

}  // namespace hangar::audit
