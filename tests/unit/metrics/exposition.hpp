#pragma once
// A strict reader of the Prometheus text format, for tests: it undoes label
// escaping, so a test can compare values with what was declared, and it
// fails loudly on anything it does not understand.
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace bulwark::metrics::testing {

struct sample {
  std::string name;
  std::map<std::string, std::string> labels;
  std::string value; ///< as written
  double number() const { return std::strtod(value.c_str(), nullptr); }
};

struct exposition {
  std::map<std::string, std::string> help; ///< family → unescaped help
  std::map<std::string, std::string> type; ///< family → type
  std::vector<std::string> family_order;   ///< families in the order of their TYPE lines
  std::vector<sample> samples;

  /// The samples named `name` whose labels include all of `match`.
  std::vector<sample> find(const std::string& name,
                           const std::map<std::string, std::string>& match = {}) const {
    std::vector<sample> out;
    for (const auto& s : samples) {
      if (s.name != name) continue;
      bool ok = true;
      for (const auto& [k, v] : match) {
        auto it = s.labels.find(k);
        if (it == s.labels.end() || it->second != v) ok = false;
      }
      if (ok) out.push_back(s);
    }
    return out;
  }
  /// The one sample named `name` with exactly these labels; throws otherwise.
  double value(const std::string& name,
               const std::map<std::string, std::string>& labels = {}) const {
    const sample* found = nullptr;
    for (const auto& s : samples)
      if (s.name == name && s.labels == labels) {
        if (found) throw std::runtime_error("duplicate sample " + name);
        found = &s;
      }
    if (!found) throw std::runtime_error("no sample " + name);
    return found->number();
  }
};

inline std::string unescape(const std::string& s, std::size_t from, std::size_t to, bool quotes) {
  std::string out;
  for (std::size_t i = from; i < to; ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (++i >= to) throw std::runtime_error("dangling backslash");
    if (s[i] == 'n')
      out += '\n';
    else if (s[i] == '\\')
      out += '\\';
    else if (s[i] == '"' && quotes)
      out += '"';
    else
      throw std::runtime_error("bad escape");
  }
  return out;
}

inline exposition parse(const std::string& text) {
  exposition e;
  if (!text.empty() && text.back() != '\n') throw std::runtime_error("no final newline");
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.rfind("# HELP ", 0) == 0) {
      const std::size_t sp = line.find(' ', 7);
      e.help[line.substr(7, sp - 7)] = unescape(line, sp + 1, line.size(), false);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      const std::size_t sp = line.find(' ', 7);
      const std::string family = line.substr(7, sp - 7);
      e.type[family] = line.substr(sp + 1);
      e.family_order.push_back(family);
      continue;
    }
    if (line.empty() || line[0] == '#') throw std::runtime_error("unexpected line: " + line);
    sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ')
      ++i;
    s.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (line.at(i) != '}') {
        const std::size_t eq = line.find('=', i);
        const std::string key = line.substr(i, eq - i);
        if (line.at(eq + 1) != '"') throw std::runtime_error("unquoted label value");
        std::size_t end = eq + 2;
        while (line.at(end) != '"')
          end += line[end] == '\\' ? 2 : 1;
        if (!s.labels.emplace(key, unescape(line, eq + 2, end, true)).second)
          throw std::runtime_error("label repeated: " + key);
        i = end + 1;
        if (line.at(i) == ',') ++i;
      }
      ++i;
    }
    if (line.at(i) != ' ') throw std::runtime_error("no value: " + line);
    s.value = line.substr(i + 1);
    e.samples.push_back(std::move(s));
  }
  return e;
}

} // namespace bulwark::metrics::testing
