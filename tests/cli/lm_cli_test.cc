// The language-model commands end to end through the real binary: `recur train lm` on a tiny
// corpus, then `next`, `generate`, `eval`; resume equals a straight run; Ctrl-C saves and
// exits 130; bad input gives a clear message and exit status 1.
// Leaves out: the numerics (tests/tasks, tests/autograd) and real corpora (examples, RESULTS).
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_test.h"
#include "recur/io.h"

namespace recur {
namespace {

constexpr const char* kTiny =
    "--embed 16 --hidden 48 --layers 1 --batch 4 --bptt 16 --lr 0.01 --threads 1";

class LmCli : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    std::string text;
    for (int k = 0; k < 6; ++k) text += "天上的云朵漂浮在蓝天\n\nthe cat sat on the mat\n\n";
    write_bytes("corpus.txt", text);
  }
  void train(const std::string& extra) {
    ASSERT_EQ(
        run("train lm --data corpus.txt --out m.safetensors " + std::string(kTiny) + " " + extra),
        0)
        << read_text("err.txt");
  }
  void expect_error(const std::string& args, const std::string& needle) {
    EXPECT_EQ(run(args), 1) << args;
    const std::string err = read_text("err.txt");
    EXPECT_NE(err.find("recur: error: "), std::string::npos) << err;
    EXPECT_NE(err.find(needle), std::string::npos) << "'" << needle << "' not in: " << err;
  }
};

TEST_F(LmCli, TrainThenNextGenerateAndEval) {
  train("--steps 300 --dropout 0 --log log.jsonl");
  ASSERT_TRUE(exists("m.safetensors"));
  const std::string log = read_text("log.jsonl");
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 300);
  const auto last = nlohmann::json::parse(log.substr(log.rfind('\n', log.size() - 2) + 1));
  EXPECT_EQ(last["step"], 300);
  EXPECT_LT(last["train_loss"].get<double>(), 0.2);

  ASSERT_EQ(run("next --model m.safetensors --text 天上的云朵漂浮在 --top 3"), 0)
      << read_text("err.txt");
  EXPECT_NE(read_text("out.txt").find(" 1. 蓝"), std::string::npos) << read_text("out.txt");

  ASSERT_EQ(run("generate --model m.safetensors --prime 'the c' --temperature 0 --length 40 "
                "--stop-at-newline"),
            0)
      << read_text("err.txt");
  EXPECT_EQ(read_text("out.txt"), "the cat sat on the mat\n");

  ASSERT_EQ(run("generate --model m.safetensors --prime 天 --count 3 --length 12 --seed 5"), 0);
  const std::string samples = read_text("out.txt");
  EXPECT_EQ(samples.rfind("天", 0), 0u) << samples;
  EXPECT_GE(std::count(samples.begin(), samples.end(), '\n'), 5) << samples;

  ASSERT_EQ(run("eval --model m.safetensors --split train --json"), 0) << read_text("err.txt");
  const auto e = nlohmann::json::parse(read_text("out.txt"));
  EXPECT_EQ(e["data"], "corpus.txt");
  EXPECT_GT(e["tokens"].get<int64_t>(), 100);
  EXPECT_LT(e["bpc"].get<double>(), 0.5);
}

// bf16 learns the tiny corpus too, and the precision is saved with the model.
TEST_F(LmCli, Bf16TrainsAndIsSaved) {
  train("--steps 300 --dropout 0 --precision bf16 --log log.jsonl");
  const std::string log = read_text("log.jsonl");
  const auto last = nlohmann::json::parse(log.substr(log.rfind('\n', log.size() - 2) + 1));
  EXPECT_LT(last["train_loss"].get<double>(), 0.3);
  const SafeTensors m = load_safetensors(path("m.safetensors"));
  EXPECT_NE(m.metadata.at("recur.config").find("\"precision\":\"bf16\""), std::string::npos);
  ASSERT_EQ(run("generate --model m.safetensors --prime 'the c' --temperature 0 --length 40 "
                "--stop-at-newline"),
            0)
      << read_text("err.txt");
  EXPECT_EQ(read_text("out.txt"), "the cat sat on the mat\n");
  expect_error("train lm --data corpus.txt --out x.safetensors --precision fp16",
               "unknown precision 'fp16'; expected f32 or bf16");
}

TEST_F(LmCli, ResumeEqualsStraightRun) {
  train("--steps 24 --dropout 0.2");
  const SafeTensors straight = load_safetensors(path("m.safetensors"));
  train("--steps 10 --dropout 0.2");
  ASSERT_EQ(run("train lm --out m.safetensors --resume --steps 24 --threads 1"), 0)
      << read_text("err.txt");
  EXPECT_NE(read_text("err.txt").find("resuming m.safetensors at step 10 of 24"), std::string::npos)
      << read_text("err.txt");
  const SafeTensors resumed = load_safetensors(path("m.safetensors"));
  for (const auto& [name, t] : straight.tensors)
    EXPECT_EQ(t.to_vector(), resumed.tensors.at(name).to_vector()) << name;
}

TEST_F(LmCli, InitStartsFromGivenWeights) {
  train("--steps 5");
  ASSERT_EQ(run("train lm --data corpus.txt --out m2.safetensors --embed 16 --hidden 48 "
                "--layers 1 --batch 4 --bptt 16 --threads 1 --steps 1 --lr 0 "
                "--init m.safetensors"),
            0)
      << read_text("err.txt");
  const SafeTensors a = load_safetensors(path("m.safetensors"));
  const SafeTensors b = load_safetensors(path("m2.safetensors"));
  for (const char* name : {"embedding.weight", "rnn.weight_hh_l0", "decoder.bias"})
    EXPECT_EQ(a.tensors.at(name).to_vector(), b.tensors.at(name).to_vector()) << name;
  write_bytes("bad.safetensors", "not a file");
  expect_error("train lm --data corpus.txt --out m3.safetensors --init bad.safetensors",
               "bad.safetensors");
}

TEST_F(LmCli, CtrlCSavesACheckpointAndExits130) {
  const std::string cmd = "cd " + quote(dir_.string()) + " && (" + quote(RECUR_CLI_PATH) +
                          " train lm --data corpus.txt --out m.safetensors " + kTiny +
                          " --steps 100000000 --log log.jsonl 2>err.txt & pid=$!; "
                          // Interrupt once training runs (a loaded machine may take seconds
                          // to get there), at most 60 s on.
                          "for i in $(seq 600); do [ -s log.jsonl ] && break; sleep 0.1; done; "
                          "kill -INT $pid; wait $pid; echo $? > rc.txt)";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(read_text("rc.txt"), "130\n") << read_text("err.txt");
  EXPECT_NE(read_text("err.txt").find("interrupted at step"), std::string::npos)
      << read_text("err.txt");
  ASSERT_TRUE(exists("m.safetensors"));
  ASSERT_EQ(run("next --model m.safetensors --text the --top 1"), 0) << read_text("err.txt");
}

TEST_F(LmCli, BadInputGivesClearMessages) {
  write_bytes("empty.txt", "  \n\n");
  expect_error("train lm --data empty.txt --out m.safetensors", "empty");
  write_bytes("bad.txt", std::string("abc\xff") + "def");
  expect_error("train lm --data bad.txt --out m.safetensors", "byte offset 3");
  expect_error("train lm --data no-such-corpus --out m.safetensors", "moby-dick");
  expect_error("train lm --data corpus.txt --out m.safetensors --cell lstmx", "--cell lstmx");
  expect_error("train lm --data corpus.txt --out m.safetensors --tie", "embed == hidden");
  expect_error("train lm --out m.safetensors --resume", "no checkpoint at m.safetensors");
  EXPECT_FALSE(exists("m.safetensors"));
  expect_error("next --model missing.safetensors --text a", "missing.safetensors");
  SafeTensors plain;
  plain.tensors["weight_ih_l0"] = Tensor({4, 2});
  save_safetensors(path("plain.safetensors"), plain);
  expect_error("generate --model plain.safetensors", "not a recur model checkpoint");
  train("--steps 5");
  expect_error("generate --model m.safetensors --prime 'the dog'", "'d'");
  expect_error("next --model m.safetensors --text 'x☃'", "not in the model's vocabulary");
  expect_error("generate --model m.safetensors --top-p 0", "--top-p");
  expect_error("eval --model m.safetensors --split dev", "--split dev");
}

TEST_F(LmCli, EveryCommandHasHelp) {
  for (const char* cmd : {"train lm", "eval", "next", "generate", "data lm", "plot"}) {
    EXPECT_EQ(run(std::string(cmd) + " --help"), 0) << cmd;
    EXPECT_NE(read_text("out.txt").find("--"), std::string::npos) << cmd;
  }
  ASSERT_EQ(run("train lm --help"), 0);
  EXPECT_NE(read_text("out.txt").find("--bptt"), std::string::npos);
}

}  // namespace
}  // namespace recur
