// Data handling shared by the two training examples: load a CSV data set, shuffle it with a fixed
// seed, split it into a training and a held-out part, and standardize the features.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace example {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Labels = Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>;

struct Dataset {
  Matrix features;  // one sample per row: a mini-batch is a contiguous block of rows
  Labels labels;    // the class of each sample
};

// Reads lines of comma-separated numbers whose last column is the class, after `header_lines`
// lines that are skipped.
inline Dataset load_csv(const std::string& path, int header_lines) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error("cannot open " + path);
  std::vector<std::vector<double>> rows;
  std::string line;
  for (int i = 0; i < header_lines; ++i) std::getline(file, line);
  while (std::getline(file, line)) {
    if (line.empty()) continue;
    std::vector<double> values;
    std::stringstream fields(line);
    for (std::string field; std::getline(fields, field, ',');) {
      values.push_back(std::strtod(field.c_str(), nullptr));
    }
    if (!rows.empty() && values.size() != rows.front().size()) {
      throw std::runtime_error(path + ": rows of different lengths");
    }
    rows.push_back(std::move(values));
  }
  if (rows.empty() || rows.front().size() < 2) throw std::runtime_error(path + ": no data");

  const auto n = static_cast<Eigen::Index>(rows.size());
  const auto features = static_cast<Eigen::Index>(rows.front().size()) - 1;
  Dataset data{Matrix(n, features), Labels(n)};
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto& row = rows[static_cast<std::size_t>(i)];
    for (Eigen::Index j = 0; j < features; ++j) {
      data.features(i, j) = row[static_cast<std::size_t>(j)];
    }
    data.labels(i) = static_cast<std::int64_t>(row.back());
  }
  return data;
}

// Fisher-Yates shuffle of the samples, driven by the raw std::mt19937 output (whose sequence the
// standard fixes), so the same seed gives the same order with every compiler and library.
inline void shuffle(Dataset& data, std::uint32_t seed) {
  std::mt19937 rng(seed);
  for (Eigen::Index i = data.labels.size() - 1; i > 0; --i) {
    const auto j = static_cast<Eigen::Index>(rng() % static_cast<std::uint32_t>(i + 1));
    data.features.row(i).swap(data.features.row(j));
    std::swap(data.labels(i), data.labels(j));
  }
}

// The first samples for training, the last `held_out_fraction` of them held out for evaluation.
inline std::pair<Dataset, Dataset> split(const Dataset& data, double held_out_fraction) {
  const Eigen::Index n = data.labels.size();
  const auto held_out = static_cast<Eigen::Index>(std::round(held_out_fraction * static_cast<double>(n)));
  const Eigen::Index train = n - held_out;
  return {Dataset{data.features.topRows(train), data.labels.head(train)},
          Dataset{data.features.bottomRows(held_out), data.labels.tail(held_out)}};
}

// Shifts and scales every feature to mean 0 and standard deviation 1 over the training set, and
// applies the same transform to the held-out set (which must not influence it). Constant features
// are only centered.
inline void standardize(Dataset& train, Dataset& held_out) {
  const Eigen::RowVectorXd mean = train.features.colwise().mean();
  const Eigen::RowVectorXd stddev =
      ((train.features.rowwise() - mean).array().square().colwise().mean()).sqrt();
  const Eigen::RowVectorXd scale = (stddev.array() > 0).select(stddev.array().inverse(), 1.0);
  for (Dataset* d : {&train, &held_out}) {
    d->features = (d->features.rowwise() - mean).array().rowwise() * scale.array();
  }
}

// The fraction of samples classified correctly, from one row of scores (logits) per sample: the
// highest-scoring class, or for a single column (a binary logit) class 1 where it is positive.
template <class Scores>
double accuracy(const Eigen::MatrixBase<Scores>& scores, const Labels& labels) {
  Eigen::Index correct = 0;
  for (Eigen::Index i = 0; i < scores.rows(); ++i) {
    Eigen::Index predicted = 0;
    if (scores.cols() == 1) {
      predicted = scores(i, 0) > 0 ? 1 : 0;
    } else {
      scores.row(i).maxCoeff(&predicted);
    }
    correct += predicted == labels(i) ? 1 : 0;
  }
  return static_cast<double>(correct) / static_cast<double>(scores.rows());
}

}  // namespace example
