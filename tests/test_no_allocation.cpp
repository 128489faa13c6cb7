// No hidden allocation: with preallocated outputs, the fused forward+backward paths, the reduced and
// per-sample losses and the softmax family allocate nothing for inputs that are read in place —
// row- and column-major matrices, Maps with an OuterStride and Blocks, in both layouts — and for
// outputs that are preallocated matrices (either storage order), Maps or Blocks.
//
// This TU replaces the global allocation functions with counting versions: every standard
// operator new / new[] (plain, nothrow, aligned, aligned nothrow) and, on glibc, malloc, calloc,
// realloc, aligned_alloc, posix_memalign and memalign (forwarding to glibc's __libc_* entry points,
// so memory still comes from, and returns to, the one allocator). Unlike EIGEN_RUNTIME_NO_MALLOC
// this works with assertions off and sees allocations outside Eigen (std::vector, std::string,
// exceptions, a hidden scratch buffer).
//
// Each case is called twice and both calls must allocate nothing (the first would reveal a lazily
// allocated buffer), at 1 thread and, when built with OpenMP, at 2 threads on a shape the kernels
// split between them (a test case checks that they do). Inputs that are expressions or Maps with an inner stride are evaluated once
// into a temporary (documented), so they are not tested here.
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

// Under AddressSanitizer malloc and free belong to its runtime: replacing them would bypass it (and
// crash), so only operator new and delete are counted there.
#if defined(__SANITIZE_ADDRESS__)
#define XENT_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define XENT_TEST_ASAN 1
#endif
#endif

#if defined(__GLIBC__)
#include <malloc.h>  // memalign's declaration
#endif

#include "test_support.hpp"

#ifndef XENT_TEST_OPENMP_FOUND  // set by tests/CMakeLists.txt
#define XENT_TEST_OPENMP_FOUND 0
#endif

// ---- counting allocation functions --------------------------------------------------------------

namespace {

// Constant-initialized, so they are usable before any dynamic initialization runs.
std::atomic<std::uint64_t> g_new_calls{0};
std::atomic<std::uint64_t> g_malloc_calls{0};

}  // namespace

#if defined(__GLIBC__) && !defined(XENT_TEST_ASAN)
#define XENT_TEST_COUNTS_MALLOC 1
// glibc's own allocator under its internal names (exported, undeclared in its headers).
extern "C" {
void* __libc_malloc(std::size_t size) noexcept;
void* __libc_calloc(std::size_t count, std::size_t size) noexcept;
void* __libc_realloc(void* p, std::size_t size) noexcept;
void* __libc_memalign(std::size_t alignment, std::size_t size) noexcept;
void __libc_free(void* p) noexcept;
}

namespace {
void* raw_malloc(std::size_t size) { return __libc_malloc(size); }
void* raw_aligned(std::size_t alignment, std::size_t size) { return __libc_memalign(alignment, size); }
void raw_free(void* p) { __libc_free(p); }
void count_malloc() { g_malloc_calls.fetch_add(1, std::memory_order_relaxed); }
}  // namespace

extern "C" {
void* malloc(std::size_t size) noexcept {
  count_malloc();
  return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) noexcept {
  count_malloc();
  return __libc_calloc(count, size);
}
void* realloc(void* p, std::size_t size) noexcept {
  count_malloc();
  return __libc_realloc(p, size);
}
void free(void* p) noexcept { __libc_free(p); }
void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  count_malloc();
  return __libc_memalign(alignment, size);
}
void* memalign(std::size_t alignment, std::size_t size) noexcept {
  count_malloc();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
  count_malloc();
  if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) return EINVAL;
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
}  // extern "C"

#elif defined(XENT_TEST_ASAN)
// Under ASan its runtime owns malloc: it reports every heap allocation (malloc, calloc, operator
// new's malloc below, ...) to a hook instead.
#define XENT_TEST_COUNTS_MALLOC 1
extern "C" int __sanitizer_install_malloc_and_free_hooks(
    void (*malloc_hook)(const volatile void*, std::size_t), void (*free_hook)(const volatile void*));
namespace {
void count_malloc_hook(const volatile void*, std::size_t) {
  g_malloc_calls.fetch_add(1, std::memory_order_relaxed);
}
void ignore_free_hook(const volatile void*) {}
[[maybe_unused]] const int g_hooks_installed =
    __sanitizer_install_malloc_and_free_hooks(count_malloc_hook, ignore_free_hook);
}  // namespace

#else  // elsewhere only operator new and delete are counted
#define XENT_TEST_COUNTS_MALLOC 0
#endif

#if !XENT_TEST_COUNTS_MALLOC || defined(XENT_TEST_ASAN)  // operator new on the C allocator
#if defined(__GNUC__) && !defined(__clang__)
// Our operator new returns malloc'ed memory, so operator delete's free() is the matching release;
// g++ sees the inlined pair as new/free.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
namespace {
void* raw_malloc(std::size_t size) { return std::malloc(size); }
void* raw_aligned(std::size_t alignment, std::size_t size) {
  return std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
}
void raw_free(void* p) { std::free(p); }
}  // namespace
#endif

namespace {

void* counted_new(std::size_t size, std::size_t alignment) {
  g_new_calls.fetch_add(1, std::memory_order_relaxed);
  if (size == 0) size = 1;
  for (;;) {
    void* p = alignment <= alignof(std::max_align_t) ? raw_malloc(size) : raw_aligned(alignment, size);
    if (p != nullptr) return p;
    const std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

void* counted_new_nothrow(std::size_t size, std::size_t alignment) noexcept {
  try {
    return counted_new(size, alignment);
  } catch (...) {
    return nullptr;
  }
}

}  // namespace

void* operator new(std::size_t size) { return counted_new(size, 0); }
void* operator new[](std::size_t size) { return counted_new(size, 0); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return counted_new_nothrow(size, 0); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return counted_new_nothrow(size, 0); }
void* operator new(std::size_t size, std::align_val_t al) { return counted_new(size, static_cast<std::size_t>(al)); }
void* operator new[](std::size_t size, std::align_val_t al) { return counted_new(size, static_cast<std::size_t>(al)); }
void* operator new(std::size_t size, std::align_val_t al, const std::nothrow_t&) noexcept {
  return counted_new_nothrow(size, static_cast<std::size_t>(al));
}
void* operator new[](std::size_t size, std::align_val_t al, const std::nothrow_t&) noexcept {
  return counted_new_nothrow(size, static_cast<std::size_t>(al));
}
void operator delete(void* p) noexcept { raw_free(p); }
void operator delete[](void* p) noexcept { raw_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { raw_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { raw_free(p); }
void operator delete(void* p, std::size_t) noexcept { raw_free(p); }
void operator delete[](void* p, std::size_t) noexcept { raw_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { raw_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { raw_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { raw_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { raw_free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { raw_free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { raw_free(p); }

// ---- measuring ----------------------------------------------------------------------------------

using namespace xt;
using Eigen::ColMajor;
using Eigen::RowMajor;
using xent::BCELossOptions;
using xent::BCEWithLogitsLossOptions;
using xent::CrossEntropyOptions;
using xent::NLLLossOptions;
using xent::Reduction;

namespace {

// Results and pointers are stored here so that the compiler cannot drop the work (or elide an
// allocation whose memory is never used).
void* volatile g_pointer_sink = nullptr;
volatile double g_value_sink = 0;

struct Allocations {
  std::uint64_t news = 0;
  std::uint64_t mallocs = 0;
  std::uint64_t total() const { return news + mallocs; }
};

// The allocation calls made while f runs (nothing else runs meanwhile: the tests are single-threaded
// and f is the only code between the two readings).
template <class F>
Allocations allocations_during(F&& f) {
  const std::uint64_t news = g_new_calls.load();
  const std::uint64_t mallocs = g_malloc_calls.load();
  f();
  return {g_new_calls.load() - news, g_malloc_calls.load() - mallocs};
}

std::string describe(const Allocations& a) {
  return std::to_string(a.news) + " operator new + " + std::to_string(a.mallocs) + " malloc-family";
}

// The thread counts each case runs at: 1, and 2 where the test is built with OpenMP (as CMake does
// when it finds OpenMP), where the kernels split the work of the bigger shapes between threads.
#if defined(_OPENMP) && defined(KMP_VERSION_MAJOR)
// LLVM's OpenMP runtime (libomp, clang's -fopenmp) itself mallocs a few blocks in every parallel
// region of 2 threads (4 per call, measured in the clang ASan build; GCC's libgomp reuses its team
// and allocates nothing): the 2-thread check runs with libgomp (g++ builds) only.
constexpr int kThreadCounts[] = {1};
#elif defined(_OPENMP)
constexpr int kThreadCounts[] = {1, 2};
#else
constexpr int kThreadCounts[] = {1};
#endif

// The OpenMP runtime's own thread pool, created once by the program's first parallel region, is
// not xent's allocation: made here, before any counting (a region of the same thread count reuses
// it).
void start_thread_pool() {
#if defined(_OPENMP)
  static const bool started = [] {
    int threads = 0;
#pragma omp parallel num_threads(2)
    {
#pragma omp atomic
      ++threads;
    }
    return threads == 2;
  }();
  REQUIRE(started);
#endif
}

// Calls f twice at each thread count; no call may allocate.
template <class F>
void check_no_allocation(const std::string& what, F&& f) {
  start_thread_pool();
  for (const int threads : kThreadCounts) {
    xent::set_num_threads(threads);
    const Allocations first = allocations_during(f);
    const Allocations second = allocations_during(f);
    INFO(what << "\n  threads: " << threads << "\n  allocation calls: first call " << describe(first)
              << ", second call " << describe(second));
    CHECK(first.total() == 0);
    CHECK(second.total() == 0);
  }
  xent::set_num_threads(0);
}

// ---- the kinds of input and output ------------------------------------------------------------

template <class M>
constexpr int order_of() {
  return std::decay_t<M>::IsRowMajor ? RowMajor : ColMajor;
}

template <class S, int Order>
using Matrix = Eigen::Matrix<S, Dynamic, Dynamic, Order>;

using Stride = Eigen::OuterStride<>;

// The values of m (column-major) as each kind of input that is read in place: a
// matrix of storage order Order, a Map with an outer stride over a padded buffer, a Block inside a
// bigger matrix. (Made before any counting.)
template <class S, int Order>
struct Inputs {
  explicit Inputs(const Mat<S>& m)
      : plain(m),
        buffer(static_cast<std::size_t>(stride_of(m.rows(), m.cols()) * outer_size(m.rows(), m.cols()) + 1), S(-7)),
        map(buffer.data(), m.rows(), m.cols(), Stride(stride_of(m.rows(), m.cols()))),
        big(Matrix<S, Order>::Constant(m.rows() + 4, m.cols() + 5, S(-7))),
        block(big, 2, 3, m.rows(), m.cols()) {
    Eigen::Map<Matrix<S, Order>, 0, Stride>(buffer.data(), m.rows(), m.cols(), Stride(stride_of(m.rows(), m.cols()))) =
        m;
    big.block(2, 3, m.rows(), m.cols()) = m;
  }
  static Index stride_of(Index rows, Index cols) { return (Order == RowMajor ? cols : rows) + 3; }
  static Index outer_size(Index rows, Index cols) { return Order == RowMajor ? rows : cols; }

  const Matrix<S, Order> plain;
  std::vector<S> buffer;
  const Eigen::Map<const Matrix<S, Order>, 0, Stride> map;
  Matrix<S, Order> big;
  const Eigen::Block<const Matrix<S, Order>> block;

  static const char* order_name() { return Order == RowMajor ? "row-major" : "column-major"; }
  std::string plain_name() const { return std::string(order_name()) + " Matrix"; }
  std::string map_name() const {
    return std::string("Map<const ") + order_name() + " MatrixX, 0, OuterStride<>> (outer stride + 3)";
  }
  std::string block_name() const { return std::string("Block of a ") + order_name() + " Matrix"; }
};

// Every kind of preallocated rows x cols output for an input of storage order Order: a Matrix of
// that order and of the other, a Map with an outer stride, a Block of a bigger matrix.
template <class S, int Order>
struct Outputs {
  static constexpr int Other = Order == RowMajor ? ColMajor : RowMajor;
  Outputs(Index rows, Index cols)
      : same(rows, cols),
        other(rows, cols),
        buffer(static_cast<std::size_t>(((Order == RowMajor ? cols : rows) + 2) * (Order == RowMajor ? rows : cols) + 1)),
        map(buffer.data(), rows, cols, Stride((Order == RowMajor ? cols : rows) + 2)),
        big(rows + 3, cols + 4),
        block(big, 1, 2, rows, cols) {}

  Matrix<S, Order> same;
  Matrix<S, Other> other;
  std::vector<S> buffer;
  Eigen::Map<Matrix<S, Order>, 0, Stride> map;
  Matrix<S, Order> big;
  Eigen::Block<Matrix<S, Order>> block;
};

// Each combination of input and output kind is another instantiation of every kernel, and compile
// time counts five times over in CI (the `test` preset and four ISA builds), so the test does not
// take the full product: cross_entropy_forward_backward gets the most pairs, the other functions a
// basic set in which each kind still appears (the library binds Matrices, outer-strided Maps and
// Blocks of one storage order to the same strided view, so they share their kernels anyway).

// The basic set of inputs: both matrices, a column-major Map, a row-major Block.
template <class S, class F>
void for_each_basic_input_kind(const Mat<S>& m, F&& f) {
  const Inputs<S, RowMajor> row(m);
  const Inputs<S, ColMajor> col(m);
  f(row.plain, row.plain_name());
  f(col.plain, col.plain_name());
  f(col.map, col.map_name());
  f(row.block, row.block_name());
}

// Calls f(x, x_kind, out, out_kind) with the values of m as inputs and preallocated outputs of m's
// shape: a row-major matrix into every kind of output (Matrix of either storage order, Map, Block),
// a column-major matrix into a column-major matrix, a column-major Map into a Map, a row-major Block
// into a Block.
template <class S, class F>
void for_each_input_and_output(const Mat<S>& m, F&& f) {
  const Inputs<S, RowMajor> row(m);
  const Inputs<S, ColMajor> col(m);
  Outputs<S, RowMajor> row_out(m.rows(), m.cols());
  Outputs<S, ColMajor> col_out(m.rows(), m.cols());
  f(row.plain, row.plain_name(), row_out.same, "preallocated row-major Matrix");
  f(row.plain, row.plain_name(), row_out.other, "preallocated column-major Matrix");
  f(row.plain, row.plain_name(), row_out.map, "Map<row-major MatrixX, 0, OuterStride<>> (outer stride + 2)");
  f(row.plain, row.plain_name(), row_out.block, "Block of a bigger row-major Matrix");
  f(col.plain, col.plain_name(), col_out.same, "preallocated column-major Matrix");
  f(col.map, col.map_name(), col_out.map, "Map<MatrixX, 0, OuterStride<>> (outer stride + 2)");
  f(row.block, row.block_name(), row_out.block, "Block of a bigger row-major Matrix");
}

// The basic set of pairs: each matrix into a preallocated matrix of its storage order, a
// column-major Map into a Map, a row-major Block into a Block.
template <class S, class F>
void for_each_basic_input_and_output(const Mat<S>& m, F&& f) {
  const Inputs<S, RowMajor> row(m);
  const Inputs<S, ColMajor> col(m);
  Outputs<S, RowMajor> row_out(m.rows(), m.cols());
  Outputs<S, ColMajor> col_out(m.rows(), m.cols());
  f(row.plain, row.plain_name(), row_out.same, "preallocated row-major Matrix");
  f(col.plain, col.plain_name(), col_out.same, "preallocated column-major Matrix");
  f(col.map, col.map_name(), col_out.map, "Map<MatrixX, 0, OuterStride<>> (outer stride + 2)");
  f(row.block, row.block_name(), row_out.block, "Block of a bigger row-major Matrix");
}

// Calls f(out, out_kind) with every kind of preallocated vector of n entries: a VectorX, a Map, a
// segment of a bigger vector.
template <class S, class F>
void for_each_vector_output_kind(Index n, F&& f) {
  Vec<S> plain(n);
  f(plain, "preallocated VectorX");
  std::vector<S> buffer(static_cast<std::size_t>(n + 1));
  Eigen::Map<Vec<S>> map(buffer.data() + 1, n);
  f(map, "Map<VectorX>");
  Vec<S> big(n + 5);
  auto segment = big.segment(2, n);
  f(segment, "segment (a Block) of a bigger VectorX");
}

// ---- the data -----------------------------------------------------------------------------------

struct Shape {
  Index samples;
  Index classes;
};

// Small and odd (no multiple of any vector width), and a batch of long rows. The lane paths
// (lane_kernels.hpp: adjacent samples, and contiguous rows of few classes through stack scratch)
// also get several transposed strips with a tail (130 x 5) and wide column-major strips (1000 x 40).
// With OpenMP, a batch big enough for two threads (xent splits work of 2^16 elements or more).
const Shape kShapes[] = {{37, 13}, {3, 4099}, {130, 5}, {1000, 40},
#if defined(_OPENMP)
                         {4096, 40}
#endif
};

template <class S>
struct Data {
  Mat<S> logits;         // in the layout's shape
  Vec<int> targets;      // class indices, some equal to ignore_index (-1)
  Mat<S> probabilities;  // class probabilities in the layout's shape
  Mat<S> binary;         // BCE targets in [0, 1], the layout's shape
};

template <class S>
Data<S> make_data(Shape shape, Layout layout, std::uint64_t seed) {
  Rng rng(seed);
  const bool rows = layout == Layout::SamplesInRows;
  const Index R = rows ? shape.samples : shape.classes;
  const Index C = rows ? shape.classes : shape.samples;
  Data<S> d;
  d.logits = random_logits<S>(R, C, rng, 3.0);
  d.targets = random_class_targets<int>(shape.samples, shape.classes, rng, -1, 0.2);
  d.probabilities = random_probabilities<S>(shape.samples, shape.classes, rng, layout);
  d.binary = random_uniform<S>(R, C, rng, 0.0, 1.0);
  return d;
}

std::string case_name(const char* scalar, Layout layout, Shape shape) {
  return std::string(scalar) + ", " + layout_name(layout) + ", N " + std::to_string(shape.samples) + ", C " +
         std::to_string(shape.classes);
}

// The class-loss option combinations: weight or not, label smoothing or not, mean or sum.
template <class Options>
std::vector<std::pair<Options, std::string>> class_options(Layout layout, Index classes, bool smoothing_option,
                                                          bool index_targets) {
  std::vector<std::pair<Options, std::string>> all;
  Rng rng(static_cast<std::uint64_t>(classes));
  const Vec<double> weight = random_weights(classes, rng).cwiseAbs() + Vec<double>::Constant(classes, 0.25);
  for (const bool weighted : {false, true}) {
    for (const double smoothing : {0.0, 0.1}) {
      if (smoothing > 0 && !smoothing_option) continue;
      for (const Reduction reduction : {Reduction::Mean, Reduction::Sum}) {
        Options opts;
        opts.layout(layout).reduction(reduction);
        if (index_targets) opts.ignore_index(-1);
        if (weighted) opts.weight(weight);
        std::string name = std::string(weighted ? "weight" : "no weight") +
                           (reduction == Reduction::Mean ? ", Mean" : ", Sum");
        if constexpr (std::is_same<Options, CrossEntropyOptions>::value) {
          opts.label_smoothing(smoothing);
          name += smoothing > 0 ? ", label_smoothing 0.1" : ", no smoothing";
        }
        all.emplace_back(opts, name);
      }
    }
  }
  return all;
}

// The BCE option combinations: no weight, a per-class, per-sample or element-wise weight, pos_weight
// (with logits only), mean or sum.
template <class Options>
std::vector<std::pair<Options, std::string>> binary_options(Layout layout, Index rows, Index cols) {
  std::vector<std::pair<Options, std::string>> all;
  const bool samples_in_rows = layout == Layout::SamplesInRows;
  const Index samples = samples_in_rows ? rows : cols;
  const Index classes = samples_in_rows ? cols : rows;
  Rng rng(static_cast<std::uint64_t>(rows * 1000 + cols));
  const Eigen::RowVectorXd per_class = random_uniform<double>(1, classes, rng, 0.25, 2.0);
  const Eigen::VectorXd per_sample = random_uniform<double>(samples, 1, rng, 0.25, 2.0);
  const Eigen::MatrixXd elementwise = random_uniform<double>(rows, cols, rng, 0.25, 2.0);
  const Eigen::VectorXd pos_weight = random_uniform<double>(classes, 1, rng, 0.5, 3.0);
  constexpr bool with_logits = std::is_same<Options, BCEWithLogitsLossOptions>::value;
  for (int kind = 0; kind < (with_logits ? 6 : 4); ++kind) {
    for (const Reduction reduction : {Reduction::Mean, Reduction::Sum}) {
      Options opts;
      opts.layout(layout).reduction(reduction);
      std::string name;
      switch (kind) {
        case 0: name = "no weight"; break;
        case 1: opts.class_weight(per_class); name = "per-class weight"; break;
        case 2: opts.sample_weight(per_sample); name = "per-sample weight"; break;
        case 3: opts.element_weight(elementwise); name = "element-wise weight"; break;
        default:
          if constexpr (with_logits) {
            opts.pos_weight(pos_weight);
            name = "pos_weight";
            if (kind == 5) {
              opts.class_weight(per_class);
              name += " and per-class weight";
            }
          }
      }
      all.emplace_back(opts, name + (reduction == Reduction::Mean ? ", Mean" : ", Sum"));
    }
  }
  return all;
}

}  // namespace

// ---- the counter itself -------------------------------------------------------------------------

TEST_CASE("the cases run at 2 threads too, where OpenMP is installed", "[no_allocation]") {
#if XENT_TEST_OPENMP_FOUND && !defined(_OPENMP)
  FAIL("CMake found OpenMP, but this test was compiled without it: nothing runs threaded");
#endif
#if defined(_OPENMP) && defined(KMP_VERSION_MAJOR)
  WARN("LLVM's libomp allocates in each parallel region: the cases run at 1 thread only here");
#endif
#if defined(_OPENMP)
  // The biggest shape is split between the 2 threads (one block of items per thread at least).
  xent::set_num_threads(2);
  CHECK(xent::detail::threads_for(4096, 40) == 2);
  xent::set_num_threads(0);
#endif
}

TEST_CASE("the allocation counter sees every allocation function", "[no_allocation]") {
  CHECK(allocations_during([] {
          Eigen::MatrixXf m(100, 100);
          g_pointer_sink = m.data();
        }).total() >= 1);
  CHECK(allocations_during([] {
          Eigen::MatrixXd m = Eigen::MatrixXd::Zero(3, 3);
          g_pointer_sink = m.data();
        }).total() >= 1);
  CHECK(allocations_during([] {
          std::vector<int> v(1000);
          g_pointer_sink = v.data();
        }).news >= 1);
  CHECK(allocations_during([] {
          int* p = new int(1);
          g_pointer_sink = p;
          delete p;
        }).news == 1);
  CHECK(allocations_during([] {
          int* p = new int[10];
          g_pointer_sink = p;
          delete[] p;
        }).news == 1);
  CHECK(allocations_during([] {
          int* p = new (std::nothrow) int(2);
          g_pointer_sink = p;
          delete p;
        }).news == 1);
  struct alignas(128) Overaligned {
    char bytes[128];
  };
  CHECK(allocations_during([] {
          Overaligned* p = new Overaligned;
          g_pointer_sink = p;
          delete p;
        }).news == 1);
  CHECK(allocations_during([] {
          Overaligned* p = new Overaligned[3];
          g_pointer_sink = p;
          delete[] p;
        }).news == 1);
  CHECK(allocations_during([] {
          Overaligned* p = new (std::nothrow) Overaligned;
          g_pointer_sink = p;
          delete p;
        }).news == 1);
  CHECK(allocations_during([] {
          std::string s(100, 'x');
          g_pointer_sink = &s[0];
        }).total() >= 1);
  CHECK(allocations_during([] {}).total() == 0);
#if XENT_TEST_COUNTS_MALLOC
  CHECK(allocations_during([] {
          void* p = std::malloc(64);
          g_pointer_sink = p;
          std::free(p);
        }).mallocs == 1);
  CHECK(allocations_during([] {
          void* p = std::calloc(8, 8);
          g_pointer_sink = p;
          std::free(p);
        }).mallocs == 1);
  CHECK(allocations_during([] {
          void* p = std::realloc(nullptr, 64);
          g_pointer_sink = p;
          p = std::realloc(p, 4096);
          g_pointer_sink = p;
          std::free(p);
        }).mallocs == 2);
  CHECK(allocations_during([] {
          void* p = std::aligned_alloc(64, 256);
          g_pointer_sink = p;
          std::free(p);
        }).mallocs == 1);
  CHECK(allocations_during([] {
          void* p = nullptr;
          REQUIRE(posix_memalign(&p, 64, 256) == 0);
          g_pointer_sink = p;
          std::free(p);
        }).mallocs == 1);
  CHECK(allocations_during([] {
          void* p = memalign(64, 256);
          g_pointer_sink = p;
          std::free(p);
        }).mallocs == 1);
#endif
}

// ---- cross-entropy --------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("cross_entropy_forward_backward allocates nothing with a preallocated grad",
                   "[no_allocation][cross_entropy]", float, double) {
  using S = TestType;
  for (const Shape shape : kShapes) {
    for (const Layout layout : {Layout::SamplesInRows, Layout::SamplesInColumns}) {
      const Data<S> d = make_data<S>(shape, layout, 11);
      const std::string base = case_name(scalar_name<S>(), layout, shape);
      for (const bool index_targets : {true, false}) {
        for (const auto& named_opts :
             class_options<CrossEntropyOptions>(layout, shape.classes, true, index_targets)) {
          const auto& opts = named_opts.first;
          const auto& opts_name = named_opts.second;
          const auto what = [&](const std::string& x_kind, const char* grad_kind) {
            return base + "\n  logits: " + x_kind + "\n  grad: " + grad_kind + "\n  " +
                   (index_targets ? "index targets, " : "probability targets, ") + opts_name;
          };
          const auto index_case = [&](const auto& x, const std::string& x_kind, auto& grad, const char* grad_kind) {
            check_no_allocation(what(x_kind, grad_kind), [&] {
              g_value_sink = xent::cross_entropy_forward_backward(x, d.targets, grad, opts);
            });
          };
          const auto probability_case = [&](const auto& x, const std::string& x_kind, auto& grad,
                                            const char* grad_kind) {
            const Matrix<S, order_of<decltype(x)>()> probabilities = d.probabilities;  // the logits' order
            check_no_allocation(what(x_kind, grad_kind), [&] {
              g_value_sink = xent::cross_entropy_forward_backward(x, probabilities, grad, opts);
            });
          };
          // Every pair for float index targets, the basic pairs otherwise (compile time).
          if (!index_targets) {
            for_each_basic_input_and_output(d.logits, probability_case);
          } else if constexpr (std::is_same<S, float>::value) {
            for_each_input_and_output(d.logits, index_case);
          } else {
            for_each_basic_input_and_output(d.logits, index_case);
          }
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("cross_entropy and cross_entropy_per_sample allocate nothing", "[no_allocation][cross_entropy]",
                   float, double) {
  using S = TestType;
  for (const Shape shape : kShapes) {
    for (const Layout layout : {Layout::SamplesInRows, Layout::SamplesInColumns}) {
      const Data<S> d = make_data<S>(shape, layout, 12);
      const std::string base = case_name(scalar_name<S>(), layout, shape);
      for (const bool index_targets : {true, false}) {
        for (const auto& named_opts :
             class_options<CrossEntropyOptions>(layout, shape.classes, true, index_targets)) {
          const auto& opts = named_opts.first;
          const auto& opts_name = named_opts.second;
          const std::string targets_name = index_targets ? "index targets, " : "probability targets, ";
          const auto check = [&](const auto& x, const std::string& x_kind, auto& out, const char* out_kind) {
            const Matrix<S, order_of<decltype(x)>()> probabilities = d.probabilities;
            const std::string what = base + "\n  logits: " + x_kind + "\n  " + targets_name + opts_name;
            check_no_allocation("cross_entropy, " + what, [&] {
              g_value_sink = index_targets ? xent::cross_entropy(x, d.targets, opts)
                                           : xent::cross_entropy(x, probabilities, opts);
            });
            check_no_allocation("cross_entropy_per_sample into a " + std::string(out_kind) + ", " + what, [&] {
              if (index_targets) {
                xent::cross_entropy_per_sample(x, d.targets, out, opts);
              } else {
                xent::cross_entropy_per_sample(x, probabilities, out, opts);
              }
              g_pointer_sink = &out(0);
            });
          };
          // Every input kind into a VectorX; a matrix also into a Map and a segment.
          for_each_basic_input_kind(d.logits, [&](const auto& x, const std::string& x_kind) {
            Vec<S> out(shape.samples);
            check(x, x_kind, out, "preallocated VectorX");
          });
          if (!index_targets) continue;
          const RowMat<S> x = d.logits;
          for_each_vector_output_kind<S>(shape.samples, [&](auto& out, const char* out_kind) {
            check_no_allocation("cross_entropy_per_sample into a " + std::string(out_kind) + ", " + base +
                                    "\n  logits: row-major Matrix\n  index targets, " + opts_name,
                                [&] {
                                  xent::cross_entropy_per_sample(x, d.targets, out, opts);
                                  g_pointer_sink = &out(0);
                                });
          });
        }
      }
    }
  }
}

TEST_CASE("cross_entropy_forward_backward reads probability targets of other kinds in place",
          "[no_allocation][cross_entropy]") {
  // Row-major logits and grad; probability targets of the other storage order, a Map, a Block.
  using S = float;
  const Shape shape{37, 13};
  for (const Layout layout : {Layout::SamplesInRows, Layout::SamplesInColumns}) {
    const Data<S> d = make_data<S>(shape, layout, 13);
    const RowMat<S> x = d.logits;
    RowMat<S> grad(x.rows(), x.cols());
    const Inputs<S, ColMajor> col(d.probabilities);
    const Inputs<S, RowMajor> row(d.probabilities);
    for (const auto& named_opts : class_options<CrossEntropyOptions>(layout, shape.classes, true, false)) {
      const auto& opts = named_opts.first;
      const auto& opts_name = named_opts.second;
      const auto check = [&](const auto& probabilities, const std::string& kind) {
        check_no_allocation(case_name(scalar_name<S>(), layout, shape) +
                                "\n  logits: row-major Matrix, grad: preallocated row-major Matrix\n  "
                                "probability targets: " +
                                kind + ", " + opts_name,
                            [&] { g_value_sink = xent::cross_entropy_forward_backward(x, probabilities, grad, opts); });
      };
      check(col.plain, col.plain_name());
      check(col.map, col.map_name());
      check(row.block, row.block_name());
    }
  }
}

TEMPLATE_TEST_CASE("cross_entropy allocates nothing on very long rows", "[no_allocation][cross_entropy]", float,
                   double) {
  using S = TestType;
  // Rows far beyond the L1 and L2 caches (300 000 classes), where a kernel may switch to a
  // block-wise online pass.
  const Shape shape{2, 300000};
  for (const Layout layout : {Layout::SamplesInRows, Layout::SamplesInColumns}) {
    const Data<S> d = make_data<S>(shape, layout, 14);
    const std::string base = case_name(scalar_name<S>(), layout, shape);
    const auto run = [&](const auto& x, const char* x_kind) {
      constexpr int Order = order_of<decltype(x)>();
      Matrix<S, Order> grad(x.rows(), x.cols());
      const Matrix<S, Order> probabilities = d.probabilities;
      for (const auto& named_opts : class_options<CrossEntropyOptions>(layout, shape.classes, true, true)) {
        const auto& opts = named_opts.first;
        const auto& opts_name = named_opts.second;
        const std::string what = base + "\n  logits: " + x_kind + ", " + opts_name;
        check_no_allocation("cross_entropy, index targets, " + what,
                            [&] { g_value_sink = xent::cross_entropy(x, d.targets, opts); });
        check_no_allocation("cross_entropy_forward_backward, index targets, " + what,
                            [&] { g_value_sink = xent::cross_entropy_forward_backward(x, d.targets, grad, opts); });
      }
      for (const auto& named_opts : class_options<CrossEntropyOptions>(layout, shape.classes, true, false)) {
        const auto& opts = named_opts.first;
        const auto& opts_name = named_opts.second;
        check_no_allocation(
            "cross_entropy_forward_backward, probability targets, " + base + "\n  logits: " + x_kind + ", " + opts_name,
            [&] { g_value_sink = xent::cross_entropy_forward_backward(x, probabilities, grad, opts); });
      }
    };
    // Contiguous samples: row-major with samples in rows, column-major with samples in columns.
    if (layout == Layout::SamplesInRows) {
      run(RowMat<S>(d.logits), "row-major Matrix");
    } else {
      run(d.logits, "column-major Matrix");
    }
  }
}

TEMPLATE_TEST_CASE("the in-place fused cross-entropy and the online row pass allocate nothing",
                   "[no_allocation][cross_entropy]", float, double) {
  using S = TestType;
  const std::size_t saved = xent::online_row_bytes();
  for (const std::size_t online : {std::size_t(0), saved}) {  // every row online, then the default
    xent::set_online_row_bytes(online);
    // The same for the lanes' online pass (the samples-in-columns cases).
    xent::set_online_lane_strip_bytes(online == 0 ? 0 : xent::detail::kDefaultOnlineLaneStripBytes);
    for (const Shape shape : kShapes) {
      for (const Layout layout : {Layout::SamplesInRows, Layout::SamplesInColumns}) {
        const Data<S> d = make_data<S>(shape, layout, 16);
        const std::string base = case_name(scalar_name<S>(), layout, shape) +
                                 (online == 0 ? ", online row pass" : ", default row pass");
        const RowMat<S> logits = d.logits;
        const RowMat<S> probabilities = d.probabilities;
        RowMat<S> x = logits, grad(logits.rows(), logits.cols());
        for (const bool index_targets : {true, false}) {
          for (const auto& named_opts :
               class_options<CrossEntropyOptions>(layout, shape.classes, true, index_targets)) {
            const auto& opts = named_opts.first;
            const auto& opts_name = named_opts.second;
            const std::string what = base + ", row-major Matrix, " +
                                     (index_targets ? "index targets, " : "probability targets, ") +
                                     opts_name;
            check_no_allocation("cross_entropy_forward_backward_in_place, " + what, [&] {
              x = logits;  // same size: no allocation
              g_value_sink = index_targets
                                 ? xent::cross_entropy_forward_backward_in_place(x, d.targets, opts)
                                 : xent::cross_entropy_forward_backward_in_place(x, probabilities, opts);
            });
            check_no_allocation("cross_entropy_forward_backward, " + what, [&] {
              g_value_sink = index_targets
                                 ? xent::cross_entropy_forward_backward(logits, d.targets, grad, opts)
                                 : xent::cross_entropy_forward_backward(logits, probabilities, grad, opts);
            });
          }
        }
        check_no_allocation("log_softmax and softmax, " + base, [&] {
          xent::log_softmax(logits, grad, layout);
          xent::softmax(logits, grad, layout);
          g_pointer_sink = grad.data();
        });
      }
    }
  }
  xent::set_online_row_bytes(saved);
  xent::set_online_lane_strip_bytes(xent::detail::kDefaultOnlineLaneStripBytes);
}

TEST_CASE("CrossEntropyLoss::forward_backward allocates nothing", "[no_allocation][cross_entropy]") {
  const Data<float> d = make_data<float>({37, 13}, Layout::SamplesInRows, 15);
  const RowMat<float> x = d.logits;
  RowMat<float> grad(x.rows(), x.cols());
  const xent::CrossEntropyLoss loss(CrossEntropyOptions().label_smoothing(0.1).ignore_index(-1));
  check_no_allocation("CrossEntropyLoss::forward_backward, float, row-major, index targets",
                      [&] { g_value_sink = loss.forward_backward(x, d.targets, grad); });
  check_no_allocation("CrossEntropyLoss::operator(), float, row-major, index targets",
                      [&] { g_value_sink = loss(x, d.targets); });
}

// ---- NLL ------------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("nll_loss, its per-sample form and forward_backward allocate nothing",
                   "[no_allocation][nll_loss]", float, double) {
  using S = TestType;
  for (const Shape shape : kShapes) {
    for (const Layout layout : {Layout::SamplesInRows, Layout::SamplesInColumns}) {
      const Data<S> d = make_data<S>(shape, layout, 21);
      const Mat<S> log_probabilities = xent::log_softmax(d.logits, layout);
      const std::string base = case_name(scalar_name<S>(), layout, shape);
      for (const auto& named_opts : class_options<NLLLossOptions>(layout, shape.classes, false, true)) {
        const auto& opts = named_opts.first;
        const auto& opts_name = named_opts.second;
        for_each_basic_input_kind(log_probabilities, [&](const auto& x, const std::string& x_kind) {
          const std::string what = base + "\n  log-probabilities: " + x_kind + ", " + opts_name;
          check_no_allocation("nll_loss, " + what, [&] { g_value_sink = xent::nll_loss(x, d.targets, opts); });
          Vec<S> out(shape.samples);
          check_no_allocation("nll_loss_per_sample into a preallocated VectorX, " + what, [&] {
            xent::nll_loss_per_sample(x, d.targets, out, opts);
            g_pointer_sink = out.data();
          });
        });
        for_each_basic_input_and_output(log_probabilities, [&](const auto& x, const std::string& x_kind, auto& grad,
                                                         const char* grad_kind) {
          check_no_allocation("nll_loss_forward_backward, " + base + "\n  log-probabilities: " + x_kind +
                                  "\n  grad: " + grad_kind + "\n  " + opts_name,
                              [&] { g_value_sink = xent::nll_loss_forward_backward(x, d.targets, grad, opts); });
        });
      }
    }
  }
}

// ---- the softmax family -----------------------------------------------------------------------

TEMPLATE_TEST_CASE("the softmax family and its backward allocate nothing into preallocated outputs",
                   "[no_allocation][softmax]", float, double) {
  using S = TestType;
  const std::size_t saved_stream = xent::stream_output_bytes();
  // The default threshold, then every output streamed (non-temporal stores, misaligned heads).
  for (const std::size_t stream : {saved_stream, std::size_t(0)}) {
  xent::set_stream_output_bytes(stream);
  for (const Shape shape : kShapes) {
    for (const Layout layout : {Layout::SamplesInRows, Layout::SamplesInColumns}) {
      const Data<S> d = make_data<S>(shape, layout, 31);
      const std::string base =
          case_name(scalar_name<S>(), layout, shape) + (stream == 0 ? ", streamed output" : "");
      for_each_basic_input_and_output(d.logits, [&](const auto& x, const std::string& x_kind, auto& out,
                                                    const char* out_kind) {
        const std::string what = base + "\n  input: " + x_kind + "\n  out: " + out_kind;
        check_no_allocation("log_softmax, " + what, [&] {
          xent::log_softmax(x, out, layout);
          g_pointer_sink = &out(0, 0);
        });
        check_no_allocation("softmax, " + what, [&] {
          xent::softmax(x, out, layout);
          g_pointer_sink = &out(0, 0);
        });
        // The backward functions into a preallocated grad_input (x stands in for both grad_output
        // and the forward's output: values do not matter here).
        check_no_allocation("log_softmax_backward, " + what, [&] {
          xent::log_softmax_backward(x, x, out, layout);
          g_pointer_sink = &out(0, 0);
        });
        check_no_allocation("softmax_backward, " + what, [&] {
          xent::softmax_backward(x, x, out, layout);
          g_pointer_sink = &out(0, 0);
        });
      });
      for_each_basic_input_kind(d.logits, [&](const auto& x, const std::string& x_kind) {
        Vec<S> out(shape.samples);
        check_no_allocation("logsumexp, " + base + "\n  input: " + x_kind + "\n  out: preallocated VectorX", [&] {
          xent::logsumexp(x, out, layout);
          g_pointer_sink = out.data();
        });
      });
    }
  }
  }
  xent::set_stream_output_bytes(saved_stream);
}

// ---- binary cross-entropy -------------------------------------------------------------------------

TEMPLATE_TEST_CASE("binary_cross_entropy_with_logits_forward_backward allocates nothing with a preallocated grad",
                   "[no_allocation][bce]", float, double) {
  using S = TestType;
  for (const Shape shape : kShapes) {
    for (const Layout layout : {Layout::SamplesInRows, Layout::SamplesInColumns}) {
      const Data<S> d = make_data<S>(shape, layout, 41);
      const std::string base = case_name(scalar_name<S>(), layout, shape);
      for (const auto& named_opts :
           binary_options<BCEWithLogitsLossOptions>(layout, d.logits.rows(), d.logits.cols())) {
        const auto& opts = named_opts.first;
        const auto& opts_name = named_opts.second;
        for_each_basic_input_kind(d.logits, [&](const auto& x, const std::string& x_kind) {
          const Matrix<S, order_of<decltype(x)>()> targets = d.binary;  // in the logits' storage order
          check_no_allocation("binary_cross_entropy_with_logits, " + base + "\n  logits: " + x_kind + ", " + opts_name,
                              [&] { g_value_sink = xent::binary_cross_entropy_with_logits(x, targets, opts); });
        });
        for_each_basic_input_and_output(d.logits, [&](const auto& x, const std::string& x_kind, auto& grad,
                                                      const char* grad_kind) {
          const Matrix<S, order_of<decltype(x)>()> targets = d.binary;
          check_no_allocation(
              "binary_cross_entropy_with_logits_forward_backward, " + base + "\n  logits: " + x_kind +
                  "\n  grad: " + grad_kind + "\n  " + opts_name,
              [&] { g_value_sink = xent::binary_cross_entropy_with_logits_forward_backward(x, targets, grad, opts); });
        });
      }
    }
  }
}

TEMPLATE_TEST_CASE("binary_cross_entropy_forward_backward allocates nothing with a preallocated grad",
                   "[no_allocation][bce]", float, double) {
  using S = TestType;
  const Shape shape{37, 13};
  for (const Layout layout : {Layout::SamplesInRows, Layout::SamplesInColumns}) {
    const Data<S> d = make_data<S>(shape, layout, 51);
    const Mat<S> probabilities = d.binary.reverse();  // any values in [0, 1]
    const std::string base = case_name(scalar_name<S>(), layout, shape);
    for (const auto& named_opts :
         binary_options<BCELossOptions>(layout, probabilities.rows(), probabilities.cols())) {
      const auto& opts = named_opts.first;
      const auto& opts_name = named_opts.second;
      for_each_basic_input_kind(probabilities, [&](const auto& p, const std::string& p_kind) {
        constexpr int Order = order_of<decltype(p)>();
        const Matrix<S, Order> targets = d.binary;
        Matrix<S, Order> grad(p.rows(), p.cols());
        check_no_allocation(
            "binary_cross_entropy_forward_backward, " + base + "\n  input: " + p_kind + ", " + opts_name,
            [&] { g_value_sink = xent::binary_cross_entropy_forward_backward(p, targets, grad, opts); });
      });
    }
  }
}

TEST_CASE("the element-wise kernels' staged paths allocate nothing", "[no_allocation][bce][nll_loss]") {
  // Targets of the other storage order than the logits, and gradients of the other order, go
  // through the kernels' stack buffers (per-line path); lines longer than one chunk (600 > 256)
  // restage their broadcast weights per chunk. nll_loss zero-fills big gradients in blocks.
  using S = float;
  for (const Shape shape : {Shape{37, 13}, Shape{3, 600}, Shape{600, 3}}) {
    for (const Layout layout : {Layout::SamplesInRows, Layout::SamplesInColumns}) {
      const Data<S> d = make_data<S>(shape, layout, 61);
      const std::string base = case_name(scalar_name<S>(), layout, shape);
      const RowMat<S> x_row = d.logits;
      const Mat<S> x_col = d.logits;
      const Mat<S> t_col = d.binary;
      const RowMat<S> t_row = d.binary;
      RowMat<S> g_row(x_row.rows(), x_row.cols());
      Mat<S> g_col(x_row.rows(), x_row.cols());
      for (const auto& named_opts :
           binary_options<BCEWithLogitsLossOptions>(layout, d.logits.rows(), d.logits.cols())) {
        const auto& opts = named_opts.first;
        const auto& opts_name = named_opts.second;
        const std::string what = base + "\n  " + opts_name;
        check_no_allocation("BCE-with-logits forward_backward, row-major logits, column-major targets and grad, " + what,
                            [&] {
                              g_value_sink =
                                  xent::binary_cross_entropy_with_logits_forward_backward(x_row, t_col, g_col, opts);
                            });
        check_no_allocation("BCE-with-logits forward_backward, column-major logits, row-major targets and grad, " + what,
                            [&] {
                              g_value_sink =
                                  xent::binary_cross_entropy_with_logits_forward_backward(x_col, t_row, g_row, opts);
                            });
        check_no_allocation("BCE-with-logits per-element losses, row-major logits, column-major targets and out, " + what,
                            [&] {
                              xent::binary_cross_entropy_with_logits_per_sample(x_row, t_col, g_col, opts);
                              g_pointer_sink = g_col.data();
                            });
      }
      const Mat<S> p_col = d.binary.reverse();
      const RowMat<S> p_row = p_col;
      for (const auto& named_opts : binary_options<BCELossOptions>(layout, p_col.rows(), p_col.cols())) {
        const auto& opts = named_opts.first;
        const auto& opts_name = named_opts.second;
        check_no_allocation("BCE forward_backward, row-major input, column-major targets and grad, " + base + "\n  " +
                                opts_name,
                            [&] { g_value_sink = xent::binary_cross_entropy_forward_backward(p_row, t_col, g_col, opts); });
      }
      const Mat<S> log_probabilities = xent::log_softmax(d.logits, layout);
      const RowMat<S> lp_row = log_probabilities;
      for (const auto& named_opts : class_options<NLLLossOptions>(layout, shape.classes, false, true)) {
        const auto& opts = named_opts.first;
        const auto& opts_name = named_opts.second;
        check_no_allocation("nll_loss_forward_backward, row-major input, column-major grad, " + base + "\n  " + opts_name,
                            [&] { g_value_sink = xent::nll_loss_forward_backward(lp_row, d.targets, g_col, opts); });
      }
    }
  }
}
