// DOC: bytes.h — the one bounds-checked way to touch packet bytes, and big-endian helpers.
//
// A ByteView (or MutableByteView) is a pointer and a length. Its only accessors return
// std::optional: window<N>(off) gives a Window of exactly N bytes at `off` when
// [off, off + N) lies inside the view and nullopt otherwise; span(off, n) does the same for a
// length known only at run time. A caller cannot reach the bytes without going through the
// optional, so a failed bounds check cannot be silently ignored. Field reads inside a Window
// take the field offset as a template argument and are checked at compile time
// (`w->be16<2>()` on a Window<20>), so a header costs one run-time comparison however many
// fields are read from it.
//
// To bound a nested structure (an IP datagram inside padding, the packet embedded in an ICMP
// error), make a narrower view with prefix(n): same base pointer, so offsets stay relative to
// the start of the frame.
//
// load_be16/32 and store_be16/32 are the raw primitives Window uses; call them directly only
// on a range that a view has already checked (e.g. the bytes of a span()).
//
// Header-only; every function is noexcept, does not allocate and may be called from any
// thread. A view does not own its bytes.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>

namespace steer::dataplane {

constexpr uint16_t load_be16(const uint8_t* p) noexcept {
  return uint16_t(uint16_t(p[0]) << 8 | p[1]);
}
constexpr uint32_t load_be32(const uint8_t* p) noexcept {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}
constexpr void store_be16(uint8_t* p, uint16_t v) noexcept {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
constexpr void store_be32(uint8_t* p, uint32_t v) noexcept {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

// N bytes proven to be inside a view. Byte is `const uint8_t` (read-only) or `uint8_t`.
// Only a view makes one; every field offset is checked against N at compile time.
template <uint32_t N, class Byte = const uint8_t>
class Window {
  static_assert(std::is_same_v<std::remove_const_t<Byte>, uint8_t>);

 public:
  static constexpr uint32_t size() noexcept { return N; }
  Byte* data() const noexcept { return p_; }

  template <uint32_t I>
  uint8_t u8() const noexcept {
    static_assert(I + 1 <= N, "field past the end of the window");
    return p_[I];
  }
  template <uint32_t I>
  uint16_t be16() const noexcept {
    static_assert(I + 2 <= N, "field past the end of the window");
    return load_be16(p_ + I);
  }
  template <uint32_t I>
  uint32_t be32() const noexcept {
    static_assert(I + 4 <= N, "field past the end of the window");
    return load_be32(p_ + I);
  }
  // Copies bytes [I, I + M) of the window to `dst` (e.g. addresses, or ports kept in network
  // order).
  template <uint32_t I, uint32_t M>
  void copy_to(void* dst) const noexcept {
    static_assert(I + M <= N, "copy past the end of the window");
    std::memcpy(dst, p_ + I, M);
  }

  template <uint32_t I>
  void set_u8(uint8_t v) const noexcept requires(!std::is_const_v<Byte>) {
    static_assert(I + 1 <= N, "field past the end of the window");
    p_[I] = v;
  }
  template <uint32_t I>
  void set_be16(uint16_t v) const noexcept requires(!std::is_const_v<Byte>) {
    static_assert(I + 2 <= N, "field past the end of the window");
    store_be16(p_ + I, v);
  }
  template <uint32_t I>
  void set_be32(uint32_t v) const noexcept requires(!std::is_const_v<Byte>) {
    static_assert(I + 4 <= N, "field past the end of the window");
    store_be32(p_ + I, v);
  }

 private:
  template <class>
  friend class BasicByteView;
  explicit Window(Byte* p) noexcept : p_(p) {}
  Byte* p_;
};

template <class Byte>
class BasicByteView {
 public:
  constexpr BasicByteView(Byte* data, uint32_t len) noexcept : data_(data), len_(len) {}

  constexpr uint32_t size() const noexcept { return len_; }

  // True when [off, off + n) lies inside the view (overflow-safe).
  [[nodiscard]] constexpr bool contains(uint32_t off, uint32_t n) const noexcept {
    return off <= len_ && n <= len_ - off;
  }

  // The N bytes at `off`; nullopt when any of them is past the end of the view.
  template <uint32_t N>
  [[nodiscard]] std::optional<Window<N, Byte>> window(uint32_t off) const noexcept {
    if (!contains(off, N)) return std::nullopt;
    return Window<N, Byte>(data_ + off);
  }

  // The n bytes at `off`; nullopt when any of them is past the end of the view.
  [[nodiscard]] std::optional<std::span<Byte>> span(uint32_t off, uint32_t n) const noexcept {
    if (!contains(off, n)) return std::nullopt;
    return std::span<Byte>(data_ + off, n);
  }

  // The first n bytes as a view (same base, so offsets are unchanged); nullopt when n > size().
  [[nodiscard]] std::optional<BasicByteView> prefix(uint32_t n) const noexcept {
    if (n > len_) return std::nullopt;
    return BasicByteView(data_, n);
  }

 private:
  Byte* data_;
  uint32_t len_;
};

using ByteView = BasicByteView<const uint8_t>;
using MutableByteView = BasicByteView<uint8_t>;

}  // namespace steer::dataplane
