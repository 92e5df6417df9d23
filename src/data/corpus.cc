// The text corpus readers of DATA.md: Tang poems (chinese-poetry JSON), Moby Dick (stdlib JSON,
// one file per chapter) and plain UTF-8 .txt files with blank-line separated documents.
// Every file is checked as UTF-8 first, so errors name the file and the byte offset.
// Leaves out: fetching (scripts/get-data), the tone strings of strains/ (the tagging task reads
// them), Latin-1 mail (SpamAssassin) and splitting (split.cc).
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <utility>

#include "data/utf8_step.h"
#include "io/file.h"
#include "recur/data.h"
#include "recur/error.h"

namespace recur::data {
namespace {

namespace fs = std::filesystem;

const char* kKnownNames = "'tang', 'moby-dick'";

// The whole file, checked to be UTF-8.
std::string read_utf8_file(const fs::path& path) {
  const std::string name = path.string();
  uint64_t size = 0;
  std::ifstream in = io::open_input(name, name + ": ", &size);
  std::string bytes(size, '\0');
  io::read_exact(in, bytes.data(), size, name + ": ");
  detail::validate_utf8(bytes, name);
  return bytes;
}

nlohmann::json read_json_file(const fs::path& path) {
  const std::string bytes = read_utf8_file(path);
  try {
    return nlohmann::json::parse(bytes);
  } catch (const nlohmann::json::parse_error& e) {
    throw_error(path.string() + ": expected JSON, found invalid JSON (" + e.what() + ")");
  }
}

fs::path data_set_dir(const std::string& name, const std::string& data_dir) {
  const fs::path dir = fs::path(data_dir) / name;
  RECUR_CHECK(fs::is_directory(dir), "data set '" + name + "' not found in " + dir.string() +
                                         "; run scripts/get-data " + name);
  return dir;
}

// Files of `dir` named prefix + digits + ".json", ordered by the number.
std::vector<fs::path> numbered_json_files(const fs::path& dir, const std::string& prefix) {
  std::vector<std::pair<std::string, fs::path>> found;  // (digits, path)
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= prefix.size() + 5 || name.compare(0, prefix.size(), prefix) != 0 ||
        name.compare(name.size() - 5, 5, ".json") != 0) {
      continue;
    }
    std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - 5);
    if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
    digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size() - 1));
    found.emplace_back(std::move(digits), entry.path());
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.first.size() != b.first.size() ? a.first.size() < b.first.size() : a.first < b.first;
  });
  std::vector<fs::path> paths;
  for (auto& [digits, path] : found) paths.push_back(std::move(path));
  return paths;
}

// A string member of a JSON object, or "" when absent; another type is an Error.
std::string string_member(const nlohmann::json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return "";
  RECUR_CHECK(it->is_string(),
              where + ": expected \"" + key + "\" to be a string, found a " + it->type_name());
  return it->get<std::string>();
}

void load_tang(const fs::path& dir, bool with_titles, std::vector<std::string>* documents) {
  const std::vector<fs::path> files = numbered_json_files(dir, "poet.tang.");
  RECUR_CHECK(!files.empty(), "data set 'tang' not found in " + dir.string() +
                                  " (no poet.tang.*.json files); run scripts/get-data tang");
  for (const fs::path& file : files) {
    const nlohmann::json poems = read_json_file(file);
    RECUR_CHECK(poems.is_array(),
                file.string() + ": expected a JSON array of poems, found a " + poems.type_name());
    for (size_t i = 0; i < poems.size(); ++i) {
      const nlohmann::json& poem = poems[i];
      const std::string where = file.string() + ": poem " + std::to_string(i);
      RECUR_CHECK(poem.is_object(), where + ": expected an object, found a " + poem.type_name());
      std::string text;
      auto paragraphs = poem.find("paragraphs");
      if (paragraphs != poem.end() && !paragraphs->is_null()) {
        RECUR_CHECK(paragraphs->is_array(), where +
                                                ": expected \"paragraphs\" to be an array, "
                                                "found a " +
                                                paragraphs->type_name());
        for (const nlohmann::json& line : *paragraphs) {
          RECUR_CHECK(line.is_string(), where +
                                            ": expected \"paragraphs\" to hold strings, "
                                            "found a " +
                                            line.type_name());
          text += line.get_ref<const std::string&>();
        }
      }
      if (text.empty()) continue;  // a title without a poem
      if (with_titles) {
        const std::string title = string_member(poem, "title", where);
        if (!title.empty()) text = title + "\n" + text;
      }
      documents->push_back(std::move(text));
    }
  }
}

// Book order: etymology, extracts, chapter_1 .. chapter_N (no gap), epilogue.
void load_moby_dick(const fs::path& dir, bool with_titles, std::vector<std::string>* documents) {
  const std::string hint = "; run scripts/get-data moby-dick";
  std::vector<fs::path> chapters = numbered_json_files(dir, "chapter_");
  RECUR_CHECK(!chapters.empty(), "data set 'moby-dick' not found in " + dir.string() +
                                     " (no chapter_*.json files)" + hint);
  for (size_t i = 0; i < chapters.size(); ++i) {
    const std::string expected = "chapter_" + std::to_string(i + 1) + ".json";
    RECUR_CHECK(chapters[i].filename() == expected,
                "data set 'moby-dick' in " + dir.string() + " is incomplete: expected " + expected +
                    ", found " + chapters[i].filename().string() + hint);
  }
  std::vector<fs::path> files = {dir / "etymology.json", dir / "extracts.json"};
  files.insert(files.end(), chapters.begin(), chapters.end());
  files.push_back(dir / "epilogue.json");
  for (size_t i = 0; i < files.size(); ++i) {
    const fs::path& file = files[i];
    RECUR_CHECK(fs::exists(file), "data set 'moby-dick' in " + dir.string() + " is incomplete: " +
                                      file.filename().string() + " is missing" + hint);
    const nlohmann::json chapter = read_json_file(file);
    RECUR_CHECK(chapter.is_object(),
                file.string() + ": expected a JSON object, found a " + chapter.type_name());
    auto text = chapter.find("text");
    RECUR_CHECK(text != chapter.end() && text->is_string(),
                file.string() + ": expected a string member \"text\"");
    // Etymology, extracts and epilogue texts already open with their heading.
    const bool numbered = i >= 2 && i + 1 < files.size();
    std::string doc;
    if (with_titles && numbered) {
      doc = "CHAPTER " + std::to_string(i - 1) + ". " +
            string_member(chapter, "title", file.string()) + "\n\n";
    }
    doc += text->get_ref<const std::string&>();
    documents->push_back(std::move(doc));
  }
}

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r\f\v") == std::string_view::npos;
}

// Documents separated by one or more blank lines; lines lose a trailing \r, a leading BOM goes.
void load_txt(const fs::path& path, std::vector<std::string>* documents) {
  const std::string bytes = read_utf8_file(path);
  std::string_view rest(bytes);
  if (rest.substr(0, 3) == "\xEF\xBB\xBF") rest.remove_prefix(3);
  std::string doc;
  while (!rest.empty()) {
    const size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (is_blank(line)) {
      if (!doc.empty()) documents->push_back(std::move(doc));
      doc.clear();
      continue;
    }
    if (!doc.empty()) doc += '\n';
    doc += line;
  }
  if (!doc.empty()) documents->push_back(std::move(doc));
}

}  // namespace

int64_t TextCorpus::char_count() const {
  size_t n = 0;
  for (const std::string& doc : documents) n += detail::count_code_points(doc);
  return static_cast<int64_t>(n);
}

std::string default_data_dir() {
  const char* dir = std::getenv("RECUR_DATA_DIR");
  return dir != nullptr && *dir != '\0' ? dir : "data";
}

TextCorpus load_text_corpus(const std::string& spec, const std::string& data_dir,
                            bool with_titles) {
  TextCorpus corpus;
  corpus.name = spec;
  std::string source;
  if (spec == "tang") {
    const fs::path dir = data_set_dir(spec, data_dir);
    source = dir.string();
    load_tang(dir, with_titles, &corpus.documents);
  } else if (spec == "moby-dick") {
    const fs::path dir = data_set_dir(spec, data_dir);
    source = dir.string();
    load_moby_dick(dir, with_titles, &corpus.documents);
  } else {
    std::error_code ec;
    const fs::file_status status = fs::status(spec, ec);
    RECUR_CHECK(fs::exists(status), "unknown corpus '" + spec + "': expected one of " +
                                        kKnownNames +
                                        " or the path of a UTF-8 .txt file (no such file)");
    RECUR_CHECK(fs::is_regular_file(status), "corpus '" + spec +
                                                 "': expected a UTF-8 .txt file, found a "
                                                 "directory or special file");
    source = spec;
    corpus.name = fs::path(spec).stem().string();
    load_txt(spec, &corpus.documents);
  }
  RECUR_CHECK(!corpus.documents.empty(), "corpus " + source + " is empty");
  return corpus;
}

}  // namespace recur::data
