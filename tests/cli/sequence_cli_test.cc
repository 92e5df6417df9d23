// `recur train classify|forecast`, `recur eval` and `recur predict` end to end through the real
// binary on tiny files: a label<TAB>text set a GRU must learn, an ensemble of two such models
// (eval on the test and validation parts, predict averages their probabilities), a seasonal CSV
// series with a missing month; bad input gives a clear message.
// Leaves out: the real data sets (docs/RESULTS.md) and the numerics (tests/tasks).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_test.h"

namespace recur {
namespace {

class SequenceCli : public CliTest {
 protected:
  void expect_error(const std::string& args, const std::string& needle) {
    EXPECT_EQ(run(args), 1) << args;
    const std::string err = read_text("err.txt");
    EXPECT_NE(err.find("recur: error: "), std::string::npos) << err;
    EXPECT_NE(err.find(needle), std::string::npos) << "'" << needle << "' not in: " << err;
  }
  // Sentences about weather or food; the label is the topic.
  void write_topics() {
    const char* weather[] = {"rain and wind tonight", "sunny and warm today", "snow falls cold",
                             "clouds and rain later", "wind storm warning",   "warm sunny sky"};
    const char* food[] = {"bread and butter",   "apples are sweet", "hot soup with bread",
                          "sweet cake and tea", "rice and beans",   "butter on hot toast"};
    std::string tsv;
    for (int k = 0; k < 5; ++k)
      for (int i = 0; i < 6; ++i)
        tsv += std::string("weather\t") + weather[i] + "\nfood\t" + food[i] + "\n";
    write_bytes("topics.tsv", tsv);
  }
};

TEST_F(SequenceCli, ClassifyTrainEvalPredict) {
  write_topics();
  ASSERT_EQ(run("train classify --data topics.tsv --out m.safetensors --hidden 16 --embed 8 "
                "--min-count 1 --epochs 40 --batch 8 --lr 0.02 --threads 1 --log log.jsonl"),
            0)
      << read_text("err.txt");
  EXPECT_NE(read_text("out.txt").find("test accuracy 100.00 %"), std::string::npos)
      << read_text("out.txt");
  ASSERT_EQ(run("eval --model m.safetensors --plot cm.svg"), 0) << read_text("err.txt");
  EXPECT_NE(read_text("out.txt").find("accuracy"), std::string::npos);
  EXPECT_NE(read_text("out.txt").find("weather"), std::string::npos);
  EXPECT_EQ(read_text("cm.svg").rfind("<?xml", 0), 0u);
  ASSERT_EQ(run("predict --model m.safetensors --text 'cold rain and snow'"), 0)
      << read_text("err.txt");
  EXPECT_EQ(read_text("out.txt").rfind("weather\t", 0), 0u) << read_text("out.txt");
  const std::string log = read_text("log.jsonl");
  EXPECT_NE(log.find("valid_accuracy"), std::string::npos);
}

// The first probability printed by `predict` (top class).
double top_probability(const std::string& out) {
  const size_t tab = out.find('\t');
  return tab == std::string::npos ? -1.0 : std::stod(out.substr(tab + 1));
}

TEST_F(SequenceCli, MeanMaxPoolingEmbeddingDropoutAndEnsembles) {
  write_topics();
  const std::string common =
      "train classify --data topics.tsv --hidden 16 --embed 8 --min-count 1 --batch 8 --lr 0.02 "
      "--threads 1 --bidirectional --embed-dropout 0.1 ";
  ASSERT_EQ(run(common + "--out a.safetensors --seed 1 --epochs 40 --pooling mean+max"), 0)
      << read_text("err.txt");
  EXPECT_NE(read_text("err.txt").find("\"pooling\":\"mean+max\""), std::string::npos);
  EXPECT_NE(read_text("err.txt").find("\"embed_dropout\":0.1"), std::string::npos);
  EXPECT_NE(read_text("out.txt").find("test accuracy 100.00 %"), std::string::npos)
      << read_text("out.txt");
  // A member may read the text its own way (here words and punctuation).
  ASSERT_EQ(run(common + "--out b.safetensors --seed 2 --epochs 40 --pooling max "
                         "--tokens wordpunct"),
            0)
      << read_text("err.txt");

  // --split valid: the tenth of the training part held out for validation (2 of each 24).
  ASSERT_EQ(run("eval --model a.safetensors --split valid --json"), 0) << read_text("err.txt");
  auto j = nlohmann::json::parse(read_text("out.txt"));
  EXPECT_EQ(j["split"], "valid");
  EXPECT_EQ(j["total"], 4);
  EXPECT_EQ(j["models"], 1);
  ASSERT_EQ(run("eval --model a.safetensors,b.safetensors --json"), 0) << read_text("err.txt");
  j = nlohmann::json::parse(read_text("out.txt"));
  EXPECT_EQ(j["models"], 2);
  EXPECT_EQ(j["total"], 12);
  EXPECT_EQ(j["accuracy"], 1.0);
  ASSERT_EQ(run("eval --model a.safetensors,b.safetensors"), 0) << read_text("err.txt");
  EXPECT_NE(read_text("out.txt").find("ensemble of 2 models"), std::string::npos)
      << read_text("out.txt");

  // The ensemble's probability is the mean of its members'.
  const std::string text = "--text 'cold rain and snow'";
  ASSERT_EQ(run("predict --model a.safetensors " + text), 0) << read_text("err.txt");
  const std::string out_a = read_text("out.txt");
  ASSERT_EQ(run("predict --model b.safetensors " + text), 0) << read_text("err.txt");
  const std::string out_b = read_text("out.txt");
  ASSERT_EQ(run("predict --model a.safetensors,b.safetensors " + text), 0) << read_text("err.txt");
  const std::string out_ab = read_text("out.txt");
  ASSERT_EQ(out_a.rfind("weather\t", 0), 0u) << out_a;
  ASSERT_EQ(out_b.rfind("weather\t", 0), 0u) << out_b;
  ASSERT_EQ(out_ab.rfind("weather\t", 0), 0u) << out_ab;
  EXPECT_NEAR(top_probability(out_ab), (top_probability(out_a) + top_probability(out_b)) / 2, 1e-4);

  // Members must share the data and split; a forecaster or a language model cannot join.
  ASSERT_EQ(run(common + "--out c.safetensors --epochs 1 --split-seed 7"), 0)
      << read_text("err.txt");
  expect_error("eval --model a.safetensors,c.safetensors", "split_seed");
  expect_error("eval --model a.safetensors,", "--model");
  expect_error("eval --model a.safetensors --split dev", "--split dev");
  expect_error("eval --model a.safetensors,missing.safetensors", "missing.safetensors");
}

TEST_F(SequenceCli, ForecastBeatsSeasonalNaiveOnATrendingSeasonalSeries) {
  std::string csv = "Date,value\n";
  for (int m = 0; m < 240; ++m) {
    if (m == 100) continue;  // a missing month, filled by interpolation
    const double v = 300.0 + 0.15 * m + 3.0 * std::sin(2 * M_PI * m / 12.0);
    char line[64];
    std::snprintf(line, sizeof line, "%04d-%02d-01,%.4f\n", 1960 + m / 12, 1 + m % 12, v);
    csv += line;
  }
  write_bytes("series.csv", csv);
  ASSERT_EQ(run("train forecast --data series.csv --column value --window 24 --horizon 12 "
                "--hidden 32 --epochs 60 --lr 0.01 --threads 1 --out f.safetensors"),
            0)
      << read_text("err.txt");
  EXPECT_NE(read_text("err.txt").find("1 missing months filled"), std::string::npos);
  ASSERT_EQ(run("eval --model f.safetensors --json"), 0) << read_text("err.txt");
  const auto j = nlohmann::json::parse(read_text("out.txt"));
  // Seasonal naive misses the trend (0.15 * 12 = 1.8 a year); the model must do better.
  EXPECT_NEAR(j["naive_mae"].get<double>(), 1.8, 0.05);
  EXPECT_LT(j["mae"].get<double>(), 0.5 * j["naive_mae"].get<double>());
  ASSERT_EQ(run("predict --model f.safetensors"), 0) << read_text("err.txt");
  EXPECT_NE(read_text("out.txt").find("+12\t"), std::string::npos);
  expect_error("eval --model f.safetensors,f.safetensors", "ensemble");
  expect_error("eval --model f.safetensors --split valid", "--split test");
}

TEST_F(SequenceCli, BadInputGivesClearMessages) {
  write_bytes("bad.tsv", "spam\tbuy now\nno tab here\n");
  expect_error("train classify --data bad.tsv --out m.safetensors", "bad.tsv:2");
  expect_error("train classify --data nothing.tsv --out m.safetensors", "fashion-mnist");
  write_bytes("s.csv", "Date,value\n2000-01-01,1\n2000-02-01,abc\n");
  expect_error("train forecast --data s.csv --column value --out f.safetensors", "not a number");
  expect_error("train forecast --data s.csv --column price --out f.safetensors", "price");
  write_topics();
  expect_error("train classify --data topics.tsv --out m.safetensors --pooling median",
               "--pooling median");
  expect_error("train classify --data topics.tsv --out m.safetensors --head 12,x", "--head");
  expect_error("train classify --data topics.tsv --out m.safetensors --embed-dropout 1.5",
               "--embed-dropout");
  expect_error("train classify --data topics.tsv --out m.safetensors --tokens bpe", "--tokens bpe");
  expect_error("train mlp --data topics.tsv --out m.safetensors", "fashion-mnist");
  expect_error("predict --model missing.safetensors --text hi", "missing.safetensors");
  EXPECT_FALSE(exists("m.safetensors"));
}

}  // namespace
}  // namespace recur
