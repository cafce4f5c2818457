#include "common/strings.h"

#include <openssl/rand.h>

#include <array>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace hangar {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kHexUpper[] = "0123456789ABCDEF";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsUnreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

std::tm ToUtcTm(TimePoint t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

}  // namespace

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string HexEncode(std::span<const uint8_t> bytes) {
  std::string out;
  out.resize(bytes.size() * 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kHexDigits[bytes[i] >> 4];
    out[2 * i + 1] = kHexDigits[bytes[i] & 0xf];
  }
  return out;
}

std::string HexEncode(std::string_view bytes) {
  return HexEncode(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            bytes.size()));
}

std::optional<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

std::string UriEncode(std::string_view s, bool keep_slash) {
  std::string out;
  out.reserve(s.size() + 8);
  for (unsigned char c : s) {
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHexUpper[c >> 4]);
      out.push_back(kHexUpper[c & 0xf]);
    }
  }
  return out;
}

std::optional<std::string> UriDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi << 4 | lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query,
                                                                           bool plus_is_space) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    auto name = UriDecode(part.substr(0, eq), plus_is_space);
    auto value = UriDecode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1),
                           plus_is_space);
    if (!name || !value) return std::nullopt;
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += len;
  }
  return true;
}

namespace {

// What XML text needs in place of `c`, written into `buf`; empty when `c` stands for itself.
std::string_view XmlEscapeOf(char c, char (&buf)[8]) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto u = static_cast<unsigned char>(c);
  switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&apos;";
    // A raw CR would reach the client as LF (XML end-of-line handling): keys are exact bytes.
    case '\r': return "&#xD;";
    case '\t':
    case '\n': return {};
    default:
      if (u >= 0x20) return {};
      // Other C0 controls have no XML 1.0 form at all; S3 writes them as character references
      // (lower-case hex, no padding), which lenient parsers read back.
      size_t n = 0;
      for (char x : {'&', '#', 'x'}) buf[n++] = x;
      if (u >= 0x10) buf[n++] = kHex[u >> 4];
      buf[n++] = kHex[u & 0xf];
      buf[n++] = ';';
      return {buf, n};
  }
}

// Whether XmlEscapeOf may replace the character: one table look-up per plain character.
constexpr std::array<bool, 256> kXmlSpecial = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = c != '\t' && c != '\n';
  for (unsigned char c : std::string_view("&<>\"'")) t[c] = true;
  return t;
}();

}  // namespace

void AppendXmlEscaped(std::string& out, std::string_view s) {
  // Runs of plain characters are appended whole: most text (keys, ETags, dates) has no escapes.
  char buf[8];
  size_t plain_from = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!kXmlSpecial[static_cast<unsigned char>(s[i])]) continue;
    std::string_view escaped = XmlEscapeOf(s[i], buf);
    out.append(s.substr(plain_from, i - plain_from)).append(escaped);
    plain_from = i + 1;
  }
  out.append(s.substr(plain_from));
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  AppendXmlEscaped(out, s);
  return out;
}

bool JsonNestingWithin(std::string_view json, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : json) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

std::string FormatAmzDate(TimePoint t) {
  std::tm tm = ToUtcTm(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// A UTC calendar time as a TimePoint, or nullopt outside the years a TimePoint can hold (its
// nanoseconds since 1970 overflow near 1678 and 2262; found by the sigv4 fuzz target).
static std::optional<TimePoint> FromUtcTm(std::tm tm) {
  if (tm.tm_year < 1970 - 1900 || tm.tm_year > 2200 - 1900) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::optional<TimePoint> ParseAmzDate(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  for (size_t i = 0; i < 15; ++i) {
    if (i != 8 && !std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
  }
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) v = v * 10 + (s[i] - '0');
    return v;
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(9, 2);
  tm.tm_min = num(11, 2);
  tm.tm_sec = num(13, 2);
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60) {
    return std::nullopt;
  }
  return FromUtcTm(tm);
}

std::string FormatIso8601(TimePoint t, bool with_millis) {
  std::tm tm = ToUtcTm(t);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (with_millis) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() %
              1000;
    if (ms < 0) ms += 1000;
    char frac[8];
    std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms));
    out += frac;
  }
  out += 'Z';
  return out;
}

std::optional<TimePoint> ParseIso8601(std::string_view s) {
  // 2015-08-30T12:36:00Z or 2015-08-30T12:36:00.000Z
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s.back() != 'Z') {
    return std::nullopt;
  }
  if (s.size() > 20 && (s[19] != '.' || s.size() > 24)) return std::nullopt;
  std::string amz;
  amz.reserve(16);
  amz.append(s.substr(0, 4)).append(s.substr(5, 2)).append(s.substr(8, 2)).append("T");
  amz.append(s.substr(11, 2)).append(s.substr(14, 2)).append(s.substr(17, 2)).append("Z");
  return ParseAmzDate(amz);
}

std::string FormatHttpDate(TimePoint t) {
  std::tm tm = ToUtcTm(t);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::optional<TimePoint> ParseHttpDate(std::string_view s) {
  std::string text(s);
  std::tm tm{};
  // RFC 1123, then ISO 8601 basic and extended forms clients also send.
  for (const char* fmt : {"%a, %d %b %Y %H:%M:%S GMT", "%Y-%m-%dT%H:%M:%SZ", "%Y%m%dT%H%M%SZ",
                          "%Y-%m-%dT%H:%M:%S"}) {
    tm = {};
    const char* end = strptime(text.c_str(), fmt, &tm);
    if (end != nullptr && (*end == '\0' || *end == '.' || *end == 'Z')) return FromUtcTm(tm);
  }
  return std::nullopt;
}

namespace {

// SplitMix64's finaliser: a bijection on 64 bits that scatters consecutive inputs.
uint64_t Scatter(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

// A counter scattered under a per-process random seed: unique within the process by
// construction, unpredictable across processes, and without a call into the CSPRNG per request
// (whose locking showed in profiles). Request ids are labels, not secrets.
std::string NewRequestId() {
  static const std::array<uint64_t, 2> seed = [] {
    std::array<uint64_t, 2> s{};
    RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), sizeof s);
    return s;
  }();
  static std::atomic<uint64_t> counter{0};
  const uint64_t n = counter.fetch_add(1, std::memory_order_relaxed);
  uint64_t hi = Scatter(seed[0] + n);
  uint64_t lo = Scatter(seed[1] ^ n);
  hi = (hi & ~0xf000ULL) | 0x4000ULL;                      // version 4
  lo = (lo & ~(0xc0ULL << 56)) | (0x80ULL << 56);          // RFC 4122 variant
  char text[37];
  size_t at = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text[at++] = '-';
    const uint64_t word = i < 8 ? hi : lo;
    const unsigned byte = static_cast<unsigned>((word >> (8 * (7 - i % 8))) & 0xff);
    text[at++] = kHexDigits[byte >> 4];
    text[at++] = kHexDigits[byte & 0xf];
  }
  return std::string(text, at);
}

}  // namespace hangar
