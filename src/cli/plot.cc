// `recur plot`: reads JSONL training logs (schema in cli/jsonl_log.h) and writes an SVG of
// train_loss and valid_loss against step, one colour per series, files told apart in the
// legend by their stem. Leaves out: other metrics (lr, bpc), smoothing, and raster output.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/svg_plot.h"
#include "io/file.h"
#include "recur/error.h"

namespace recur::cli {
namespace {

namespace fs = std::filesystem;

struct PlotArgs {
  std::vector<std::string> logs;
  std::string output, title;
  bool log_y = false;
};

struct LossCurves {
  std::vector<double> train_step, train_loss, valid_step, valid_loss;
  int64_t skipped = 0;  // non-finite (or, on a log axis, non-positive) losses left out
};

// Reads `key` of a log line: absent -> false; null (a NaN the writer could not put in JSON) or
// a non-finite number -> counted as skipped; anything else but a number -> Error.
bool read_loss(const nlohmann::json& line, const char* key, const std::string& where, bool log_y,
               double* loss, int64_t* skipped) {
  const auto it = line.find(key);
  if (it == line.end()) return false;
  if (it->is_null()) {
    ++*skipped;
    return false;
  }
  RECUR_CHECK(it->is_number(),
              where + ": \"" + key + "\" must be a number, found " + it->type_name());
  *loss = it->get<double>();
  if (!std::isfinite(*loss) || (log_y && *loss <= 0)) {
    ++*skipped;
    return false;
  }
  return true;
}

LossCurves read_log(const std::string& path, bool log_y) {
  RECUR_CHECK(!fs::is_directory(path), path + ": is a directory, expected a .jsonl file");
  std::ifstream in(path);
  RECUR_CHECK(in.is_open(), "cannot open '" + path + "': " + std::strerror(errno));
  LossCurves curves;
  std::string text;
  for (int64_t number = 1; std::getline(in, text); ++number) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(number);
    nlohmann::json line;
    try {
      line = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      throw Error(where + ": not JSON (" + e.what() + ")");
    }
    RECUR_CHECK(line.is_object(), where + ": expected a JSON object, found " + line.type_name());
    double train = 0, valid = 0;
    const bool has_train = read_loss(line, "train_loss", where, log_y, &train, &curves.skipped);
    const bool has_valid = read_loss(line, "valid_loss", where, log_y, &valid, &curves.skipped);
    if (!has_train && !has_valid) continue;
    const auto step = line.find("step");
    RECUR_CHECK(step != line.end() && step->is_number(),
                where + ": a line with a loss needs a numeric \"step\"");
    if (has_train) {
      curves.train_step.push_back(step->get<double>());
      curves.train_loss.push_back(train);
    }
    if (has_valid) {
      curves.valid_step.push_back(step->get<double>());
      curves.valid_loss.push_back(valid);
    }
  }
  RECUR_CHECK(!in.bad(), "cannot read '" + path + "': " + std::strerror(errno));
  return curves;
}

// Pairs of (train, valid) colours, one pair per file: the same hue, train lighter.
struct ColourPair {
  const char* train;
  const char* valid;
};
constexpr ColourPair kColours[] = {
    {"#7fa8d9", "#1a56a0"}, {"#f2a863", "#c85a00"}, {"#86c98f", "#1f7a33"}, {"#e88f91", "#b3202a"},
    {"#b79bd9", "#5e3596"}, {"#c9a27c", "#7a4a1c"}, {"#7fcfcf", "#137575"}, {"#aaaaaa", "#444444"},
};

void check_output_path(const std::string& output) {
  RECUR_CHECK(!fs::is_directory(output), "-o " + output + ": is a directory, expected a file");
  const fs::path parent = fs::path(output).parent_path();
  RECUR_CHECK(parent.empty() || fs::is_directory(parent),
              "-o " + output + ": directory '" + parent.string() + "' does not exist");
}

void run_plot(const PlotArgs& a) {
  check_output_path(a.output);
  PlotSpec spec;
  spec.title = a.title.empty() ? "Training loss" : a.title;
  spec.x_label = "step";
  spec.y_label = a.log_y ? "loss (nats/token, log scale)" : "loss (nats/token)";
  spec.log_y = a.log_y;
  size_t found = 0;
  std::vector<std::string> empty;  // logs with nothing to draw
  for (size_t i = 0; i < a.logs.size(); ++i) {
    const std::string& path = a.logs[i];
    LossCurves curves = read_log(path, a.log_y);
    if (curves.skipped > 0)
      std::cerr << "recur: warning: " << path << ": skipped " << curves.skipped
                << (a.log_y ? " non-finite or non-positive" : " non-finite") << " loss value(s)\n";
    const size_t count = curves.train_loss.size() + curves.valid_loss.size();
    if (count == 0) empty.push_back(path);
    found += count;
    const std::string stem = fs::path(path).stem().string();
    const ColourPair& colours = kColours[i % std::size(kColours)];
    if (!curves.train_loss.empty())
      spec.series.push_back({stem + " (train)", colours.train, false, std::move(curves.train_step),
                             std::move(curves.train_loss)});
    if (!curves.valid_loss.empty())
      spec.series.push_back({stem + " (valid)", colours.valid, true, std::move(curves.valid_step),
                             std::move(curves.valid_loss)});
  }
  if (found == 0) {
    std::string names;
    for (const std::string& path : a.logs) names += (names.empty() ? "" : ", ") + path;
    throw Error("no finite train_loss or valid_loss values in " + names);
  }
  for (const std::string& path : empty)
    std::cerr << "recur: warning: " << path << ": no finite train_loss or valid_loss values\n";
  io::write_text_file_atomically(a.output, render_svg(spec));
}

}  // namespace

void add_plot_command(CLI::App& app) {
  auto args = std::make_shared<PlotArgs>();
  CLI::App* cmd = app.add_subcommand(
      "plot", "Plot train and valid loss against step from JSONL training logs, as an SVG");
  cmd->add_option("logs", args->logs, "training logs (.jsonl), one curve pair each")->required();
  cmd->add_option("-o,--output", args->output, "where to write the SVG")->required();
  cmd->add_option("--title", args->title, "chart title (default \"Training loss\")");
  cmd->add_flag("--log-y", args->log_y, "logarithmic loss axis");
  cmd->callback([args] { run_plot(*args); });
}

}  // namespace recur::cli
