// The accuracy study's driver (see cells.hpp for the cells, the truth and the error measure).
//   accuracy dump <dir>             writes each cell's float inputs (raw, little-endian) and a manifest
//   accuracy measure <dir> <csv> [ids]  measures (only the comma-separated cell ids, if given) xent, xent::reference<float>, naive Eigen,
//                                   xent::reference<long double> and PyTorch (the files
//                                   torch_outputs.py wrote into <dir>) against the truth
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "cells.hpp"

namespace {

using namespace xacc;

std::string path(const std::string& dir, const Cell& cell, const char* what) {
  return dir + "/cell" + std::to_string(cell.id) + "_" + what;
}

template <class T>
void write_raw(const std::string& file, const T* data, Index count) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(sizeof(T)) * count);
  if (!out) throw std::runtime_error("cannot write " + file);
}

bool read_raw(const std::string& file, float* data, Index count) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  in.read(reinterpret_cast<char*>(data), static_cast<std::streamsize>(sizeof(float)) * count);
  if (!in) throw std::runtime_error("short file " + file);
  return true;
}

int dump(const std::string& dir) {
  std::ofstream manifest(dir + "/manifest.txt");
  for (const Cell& cell : all_cells()) {
    const Inputs in = make_inputs(cell);
    write_raw(path(dir, cell, "x.f32"), in.x.data(), in.x.size());
    write_raw(path(dir, cell, "t.f32"), in.t.data(), in.t.size());
    const Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1> y = in.y.cast<std::int64_t>();
    write_raw(path(dir, cell, "y.i64"), y.data(), y.size());
    manifest << cell.id << ' ' << cell.samples << ' ' << cell.classes << ' ' << in.eps << '\n';
  }
  return manifest ? 0 : 1;
}

// PyTorch's results for a cell, or false when torch_outputs.py has not run.
bool read_torch(const std::string& dir, const Cell& cell, Results<float>& r) {
  const Index n = cell.samples, c = cell.classes;
  r.ce.resize(n);
  r.grad.resize(n, c);
  r.lsm.resize(n, c);
  r.sm.resize(n, c);
  r.bce.resize(n, c);
  r.bce_grad.resize(n, c);
  r.ce_prob.resize(n);
  // One-hot probability targets: the smoothing cells only (torch_outputs.py).
  if (measured(cell, CEProb) && !read_raw(path(dir, cell, "torch_ce_prob.f32"), r.ce_prob.data(), n))
    return false;
  return read_raw(path(dir, cell, "torch_ce.f32"), r.ce.data(), n) &&
         read_raw(path(dir, cell, "torch_grad.f32"), r.grad.data(), n * c) &&
         read_raw(path(dir, cell, "torch_lsm.f32"), r.lsm.data(), n * c) &&
         read_raw(path(dir, cell, "torch_sm.f32"), r.sm.data(), n * c) &&
         read_raw(path(dir, cell, "torch_bce.f32"), r.bce.data(), n * c) &&
         read_raw(path(dir, cell, "torch_bce_grad.f32"), r.bce_grad.data(), n * c);
}

int measure_all(const std::string& dir, const std::string& csv, const std::string& only) {
  std::ofstream out(csv);
  out << "cell,C,N,scale,kind,function,contender,count,max_ulp,mean_ulp,nonfinite\n";
  for (const Cell& cell : all_cells()) {
    if (!only.empty() && ("," + only + ",").find("," + std::to_string(cell.id) + ",") == std::string::npos)
      continue;
    const Inputs in = make_inputs(cell);
    const Results<LD> want = truth(in);
    auto emit = [&](const char* who, const std::vector<Stats>& st) {
      for (int f = 0; f < kFunctions; ++f) {
        if (!measured(cell, f)) continue;
        char line[256];
        std::snprintf(line, sizeof line, "%d,%ld,%ld,%g,%s,%s,%s,%ld,%.9g,%.9g,%ld\n", cell.id,
                      static_cast<long>(cell.classes), static_cast<long>(cell.samples), cell.scale,
                      kind_name(cell.kind), function_name(f), who, static_cast<long>(st[f].count),
                      st[f].max_or_inf(), st[f].mean(), static_cast<long>(st[f].nonfinite));
        out << line;
      }
    };
    emit("xent", measure(cell, in, run_xent(in), want));
    emit("reference_float", measure(cell, in, run_reference<float>(in), want));
    emit("naive_eigen", measure(cell, in, run_naive(in), want));
    emit("reference_long_double", measure(cell, in, run_reference<LD>(in), want));
    Results<float> torch;
    if (read_torch(dir, cell, torch)) {
      emit("pytorch", measure(cell, in, torch, want));
    } else {
      std::cerr << "no PyTorch outputs for cell " << cell.id << '\n';
    }
    std::cerr << "cell " << cell.id << ": " << cell_label(cell) << '\n';
  }
  return out ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "dump" && argc == 3) return dump(argv[2]);
  if (cmd == "measure" && (argc == 4 || argc == 5))
    return measure_all(argv[2], argv[3], argc == 5 ? argv[4] : "");
  std::cerr << "usage: accuracy dump <dir> | accuracy measure <dir> <out.csv>\n";
  return 2;
}
