// `recur plot` end to end: the real binary (RECUR_CLI_PATH) run in a fresh directory per test
// on logs written here. A valid run must give an SVG with one polyline per series holding
// exactly that series' finite points, and a legend; every bad input must exit 1 with
// "recur: error: ..." naming the problem and leave no SVG (or .partial) behind.
// Leaves out: tick choice and SVG layout (svg_plot_test) and how the chart looks.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli_test.h"

namespace recur {
namespace {

class PlotCli : public CliTest {
 protected:
  int run(const std::string& args) const { return CliTest::run("plot " + args); }
  std::string read(const std::string& name) const { return read_text(name); }
  void write(const std::string& name, const std::string& text) const { write_bytes(name, text); }

  // Runs with `args`, expects exit 1, "recur: error: " and each of `needles` on stderr, and no
  // output file.
  void expect_error(const std::string& args, const std::vector<std::string>& needles) const {
    EXPECT_EQ(run(args), 1) << read("err.txt");
    const std::string err = read("err.txt");
    EXPECT_NE(err.find("recur: error: "), std::string::npos) << err;
    for (const std::string& needle : needles)
      EXPECT_NE(err.find(needle), std::string::npos) << "'" << needle << "' not in: " << err;
    EXPECT_FALSE(exists("curve.svg"));
    EXPECT_FALSE(exists("curve.svg.partial"));
  }
};

// A log in the training schema: train lines every step, an eval line every `eval_every`.
std::string training_log(int steps, int eval_every) {
  std::string text;
  for (int step = 1; step <= steps; ++step) {
    text += "{\"step\": " + std::to_string(step) +
            ", \"train_loss\": " + std::to_string(5.0 / step + 1) +
            ", \"lr\": 0.002, \"tokens_per_s\": 1000.0, \"time_s\": 0.5}\n";
    if (step % eval_every == 0)
      text += "{\"step\": " + std::to_string(step) +
              ", \"valid_loss\": " + std::to_string(4.0 / step + 1.2) + ", \"valid_bpc\": 2.0}\n";
  }
  return text;
}

// The point counts of every <polyline ... points="..."/> in order.
std::vector<int> polyline_points(const std::string& svg) {
  std::vector<int> counts;
  for (size_t at = svg.find("<polyline"); at != std::string::npos;
       at = svg.find("<polyline", at + 1)) {
    const size_t begin = svg.find("points=\"", at) + 8;
    const size_t end = svg.find('"', begin);
    std::istringstream points(svg.substr(begin, end - begin));
    int n = 0;
    for (std::string pair; points >> pair; ++n)
      EXPECT_NE(pair.find(','), std::string::npos) << pair;
    counts.push_back(n);
  }
  return counts;
}

TEST_F(PlotCli, TwoLogsGiveFourSeriesWithTheirPoints) {
  write("lstm.jsonl", training_log(30, 10));
  write("gru.jsonl", training_log(12, 4));
  ASSERT_EQ(run("lstm.jsonl gru.jsonl -o curve.svg --title 'LSTM & GRU'"), 0) << read("err.txt");
  EXPECT_EQ(read("err.txt"), "");
  EXPECT_FALSE(exists("curve.svg.partial"));
  const std::string svg = read("curve.svg");
  EXPECT_EQ(svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=", 0), 0u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  // Solid train lines first, then the dashed valid lines over them.
  EXPECT_EQ(polyline_points(svg), (std::vector<int>{30, 12, 3, 3}));
  for (const char* text : {">lstm (train)</text>", ">lstm (valid)</text>", ">gru (train)</text>",
                           ">gru (valid)</text>", ">LSTM &amp; GRU</text>", ">step</text>",
                           ">loss (nats/token)</text>"})
    EXPECT_NE(svg.find(text), std::string::npos) << text;
}

TEST_F(PlotCli, TrainOnlyLogAndLogAxis) {
  write("run.jsonl", training_log(20, 1000));
  ASSERT_EQ(run("run.jsonl -o curve.svg --log-y"), 0) << read("err.txt");
  const std::string svg = read("curve.svg");
  EXPECT_EQ(polyline_points(svg), (std::vector<int>{20}));
  EXPECT_NE(svg.find(">run (train)</text>"), std::string::npos);
  EXPECT_EQ(svg.find("(valid)"), std::string::npos);
  EXPECT_NE(svg.find("log scale"), std::string::npos);
}

TEST_F(PlotCli, NonFiniteLossesAreSkippedWithAWarning) {
  // null is how JSON writers (JsonlLog, the torch script) record a NaN loss; blank lines and
  // lines without losses (other metadata) are ignored.
  write("run.jsonl",
        "{\"step\": 1, \"train_loss\": 3.0}\n\n"
        "{\"step\": 2, \"train_loss\": null}\n"
        "{\"note\": \"restarted\"}\n"
        "{\"step\": 3, \"train_loss\": 2.0, \"valid_loss\": null}\n"
        "{\"step\": 4, \"train_loss\": 1.5, \"valid_loss\": 1.7}\n");
  ASSERT_EQ(run("run.jsonl -o curve.svg"), 0) << read("err.txt");
  EXPECT_EQ(polyline_points(read("curve.svg")), (std::vector<int>{3, 1}));
  const std::string err = read("err.txt");
  EXPECT_NE(err.find("recur: warning: run.jsonl: skipped 2 non-finite loss value(s)"),
            std::string::npos)
      << err;
}

TEST_F(PlotCli, ZeroLossIsSkippedOnlyOnALogAxis) {
  write("run.jsonl", "{\"step\": 1, \"train_loss\": 1.0}\n{\"step\": 2, \"train_loss\": 0}\n");
  ASSERT_EQ(run("run.jsonl -o curve.svg"), 0) << read("err.txt");
  EXPECT_EQ(polyline_points(read("curve.svg")), (std::vector<int>{2}));
  ASSERT_EQ(run("run.jsonl -o log.svg --log-y"), 0) << read("err.txt");
  EXPECT_EQ(polyline_points(read("log.svg")), (std::vector<int>{1}));
  EXPECT_NE(read("err.txt").find("skipped 1 non-finite or non-positive"), std::string::npos);
}

TEST_F(PlotCli, ALogWithNothingToDrawIsAWarningBesideOthers) {
  write("run.jsonl", training_log(5, 5));
  write("empty.jsonl", "");
  ASSERT_EQ(run("run.jsonl empty.jsonl -o curve.svg"), 0) << read("err.txt");
  EXPECT_EQ(polyline_points(read("curve.svg")), (std::vector<int>{5, 1}));
  EXPECT_EQ(read("err.txt"),
            "recur: warning: empty.jsonl: no finite train_loss or valid_loss values\n");
}

TEST_F(PlotCli, OverwritesAnOldOutput) {
  write("run.jsonl", training_log(5, 5));
  write("curve.svg", "old");
  ASSERT_EQ(run("run.jsonl -o curve.svg"), 0) << read("err.txt");
  EXPECT_EQ(read("curve.svg").rfind("<?xml", 0), 0u);
}

TEST_F(PlotCli, MissingLogFile) {
  write("run.jsonl", training_log(5, 5));
  expect_error("run.jsonl nope.jsonl -o curve.svg", {"cannot open 'nope.jsonl'", "No such file"});
}

TEST_F(PlotCli, LineThatIsNotJsonNamesFileAndLine) {
  write("run.jsonl", "{\"step\": 1, \"train_loss\": 3.0}\n{\"step\": 2, \"train_loss\": NaN}\n");
  expect_error("run.jsonl -o curve.svg", {"run.jsonl:2: not JSON"});
  write("run.jsonl", "{\"step\": 1, \"train_loss\": 3.0}\n[1, 2]\n");
  expect_error("run.jsonl -o curve.svg", {"run.jsonl:2: expected a JSON object, found array"});
}

TEST_F(PlotCli, BadFieldsNameFileAndLine) {
  write("run.jsonl", "{\"train_loss\": 3.0}\n");
  expect_error("run.jsonl -o curve.svg", {"run.jsonl:1: a line with a loss needs a numeric"});
  write("run.jsonl", "{\"step\": 1, \"valid_loss\": \"low\"}\n");
  expect_error("run.jsonl -o curve.svg",
               {"run.jsonl:1: \"valid_loss\" must be a number, found string"});
}

TEST_F(PlotCli, NoLossValuesAtAll) {
  write("a.jsonl", "{\"step\": 1, \"lr\": 0.1}\n");
  write("b.jsonl", "");
  expect_error("a.jsonl b.jsonl -o curve.svg",
               {"no finite train_loss or valid_loss values in a.jsonl, b.jsonl"});
  write("nan.jsonl", "{\"step\": 1, \"train_loss\": null}\n");
  expect_error("nan.jsonl -o curve.svg", {"no finite train_loss or valid_loss values"});
}

TEST_F(PlotCli, OutputInAMissingDirectoryOrADirectory) {
  write("run.jsonl", training_log(5, 5));
  expect_error("run.jsonl -o missing/curve.svg", {"directory 'missing' does not exist"});
  EXPECT_FALSE(exists("missing"));
  fs::create_directories(dir_ / "curve.svg");
  EXPECT_EQ(run("run.jsonl -o curve.svg"), 1);
  EXPECT_NE(read("err.txt").find("curve.svg: is a directory"), std::string::npos)
      << read("err.txt");
}

TEST_F(PlotCli, OutputIsRequired) {
  write("run.jsonl", training_log(5, 5));
  EXPECT_NE(run("run.jsonl"), 0);
  EXPECT_NE(read("err.txt").find("--output"), std::string::npos) << read("err.txt");
}

}  // namespace
}  // namespace recur
