// CSV tables (RFC 4180: quoted fields with commas, line breaks and doubled quotes), numeric
// columns of them, and the vega CO2 series (see recur/datasets.h). Leaves out: other separators,
// type inference, missing-value markers (an empty field is not a number) and dates.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "data/dataset_files.h"
#include "data/utf8_step.h"
#include "recur/datasets.h"
#include "recur/error.h"

namespace recur::data {
namespace {

// Splits valid UTF-8 CSV text into records, each with the line it starts on.
class CsvParser {
 public:
  CsvParser(std::string_view text, const std::string& path) : text_(text), path_(path) {}

  // The next record, or false at the end of the text. Empty lines are skipped.
  bool next(std::vector<std::string>* fields, int64_t* line) {
    while (pos_ < text_.size() && (text_[pos_] == '\n' || text_.compare(pos_, 2, "\r\n") == 0)) {
      pos_ += text_[pos_] == '\n' ? 1 : 2;
      ++line_;
    }
    if (pos_ >= text_.size()) return false;
    *line = line_;
    fields->clear();
    for (;;) {
      fields->push_back(text_[pos_] == '"' ? quoted_field() : plain_field());
      if (pos_ >= text_.size()) return true;
      if (text_[pos_] == ',') {
        ++pos_;
        if (pos_ >= text_.size()) {  // a trailing comma at the very end: one more empty field
          fields->emplace_back();
          return true;
        }
        continue;
      }
      end_of_line();
      return true;
    }
  }

 private:
  std::string where() const { return path_ + ":" + std::to_string(line_) + ": "; }

  bool at_line_end() const { return text_[pos_] == '\n' || text_.compare(pos_, 2, "\r\n") == 0; }

  void end_of_line() {
    pos_ += text_[pos_] == '\n' ? 1 : 2;
    ++line_;
  }

  std::string plain_field() {
    const size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != ',' && !at_line_end()) {
      RECUR_CHECK(text_[pos_] != '"',
                  where() + "expected no quote inside an unquoted field, found one in '" +
                      std::string(text_.substr(start, pos_ + 1 - start)) + "'");
      ++pos_;
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  std::string quoted_field() {
    const int64_t opened = line_;
    ++pos_;
    std::string field;
    for (;;) {
      RECUR_CHECK(pos_ < text_.size(), where() + "unterminated quoted field (opened on line " +
                                           std::to_string(opened) + ")");
      const char c = text_[pos_++];
      if (c == '"') {
        if (pos_ < text_.size() && text_[pos_] == '"') {
          field += '"';
          ++pos_;
          continue;
        }
        break;
      }
      if (c == '\n') ++line_;
      field += c;
    }
    RECUR_CHECK(pos_ >= text_.size() || text_[pos_] == ',' || at_line_end(),
                where() + "expected a comma or the end of the line after the closing quote of '" +
                    field + "', found '" + std::string(1, text_[pos_]) + "'");
    return field;
  }

  std::string_view text_;
  const std::string& path_;
  size_t pos_ = 0;
  int64_t line_ = 1;
};

std::string column_list(const std::vector<std::string>& header) {
  std::string list;
  for (const std::string& name : header) list += (list.empty() ? "'" : ", '") + name + "'";
  return list;
}

}  // namespace

CsvTable load_csv(const std::string& path) {
  std::string bytes = detail::read_file_bytes(path);
  detail::validate_utf8(bytes, path);
  detail::strip_bom(&bytes);
  CsvParser parser(bytes, path);
  CsvTable table;
  table.source = path;
  int64_t line = 0;
  RECUR_CHECK(parser.next(&table.header, &line), path + ": expected a header line, found none");
  std::set<std::string> seen;
  for (const std::string& name : table.header) {
    RECUR_CHECK(!name.empty(), path + ":" + std::to_string(line) +
                                   ": expected a name for every column, found an empty one");
    RECUR_CHECK(seen.insert(name).second,
                path + ":" + std::to_string(line) + ": column '" + name + "' appears twice");
  }
  std::vector<std::string> fields;
  while (parser.next(&fields, &line)) {
    RECUR_CHECK(fields.size() == table.header.size(),
                path + ":" + std::to_string(line) + ": expected " +
                    std::to_string(table.header.size()) + " fields (as the header), found " +
                    std::to_string(fields.size()));
    table.rows.push_back(fields);
    table.lines.push_back(line);
  }
  return table;
}

std::vector<double> csv_column(const CsvTable& table, const std::string& column,
                               const std::string& source) {
  const std::string name = source.empty() ? table.source : source;
  const auto it = std::find(table.header.begin(), table.header.end(), column);
  RECUR_CHECK(it != table.header.end(),
              name + ": no column '" + column + "'; the columns are " + column_list(table.header));
  const size_t index = static_cast<size_t>(it - table.header.begin());
  std::vector<double> values;
  values.reserve(table.rows.size());
  for (size_t r = 0; r < table.rows.size(); ++r) {
    RECUR_CHECK(index < table.rows[r].size(), name + ": row " + std::to_string(r) + " has " +
                                                  std::to_string(table.rows[r].size()) +
                                                  " fields, fewer than the header");
    const std::string& field = table.rows[r][index];
    double value = 0;
    const char* end = field.data() + field.size();
    const auto [ptr, ec] = std::from_chars(field.data(), end, value);
    if (ec != std::errc() || ptr != end || !std::isfinite(value)) {
      const int64_t line = r < table.lines.size() ? table.lines[r] : static_cast<int64_t>(r) + 2;
      throw_error(name + ":line " + std::to_string(line) + ": column '" + column + "' has '" +
                  field + "', not a number");
    }
    values.push_back(value);
  }
  return values;
}

CsvTable load_co2(const std::string& data_dir) {
  const std::string path = detail::data_set_dir("vega", data_dir) + "/co2-concentration.csv";
  CsvTable table = load_csv(path);
  for (const char* column : {"Date", "CO2", "adjusted CO2"}) {
    RECUR_CHECK(std::find(table.header.begin(), table.header.end(), column) != table.header.end(),
                path + ": expected a column '" + column + "', found " + column_list(table.header));
  }
  return table;
}

}  // namespace recur::data
