// The loop both units compile, over whichever simd namespace is current (see region_math.hpp).
// Included inside a namespace of the including unit, after the layer. No lambdas: under clang a
// lambda in a target region does not get the region's target.
template <class V>
V apply_one(region_test::Fn fn, V v) {
  switch (fn) {
    case region_test::Fn::Exp:
      return simd::exp(v);
    case region_test::Fn::Log:
      return simd::log(v);
    default:
      return simd::log1p(v);
  }
}

template <class V, class T>
void apply_over(region_test::Fn fn, const T* x, T* y, std::size_t n) {
  constexpr std::size_t W = V::width;
  std::size_t i = 0;
  for (; i + W <= n; i += W) apply_one(fn, V::loadu(x + i)).storeu(y + i);
  const int tail = static_cast<int>(n - i);
  if (tail > 0) apply_one(fn, V::load_tail(x + i, tail, T(1))).store_tail(y + i, tail);
}
