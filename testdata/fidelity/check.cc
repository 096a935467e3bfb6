// The C++ side of LANG=C.UTF-8: std::locale("") must not throw, and
// wide-character conversion through it must decode UTF-8.
#include <cstdio>
#include <cstring>
#include <cwchar>
#include <iostream>
#include <locale>
#include <sstream>
#include <stdexcept>
#include <string>

int main() {
  int failed = 0;
  try {
    std::locale loc("");
    std::cout << "ok   std::locale(\"\") = " << loc.name() << "\n";
    std::locale::global(loc);
    const char *s = "h\xc3\xa9llo \xe2\x82\xac";
    std::mbstate_t st{};
    wchar_t w[16];
    const char *from_next;
    wchar_t *to_next;
    auto &cvt = std::use_facet<std::codecvt<wchar_t, char, std::mbstate_t>>(loc);
    auto r = cvt.in(st, s, s + std::strlen(s), from_next, w, w + 16, to_next);
    if (r == std::codecvt_base::ok && to_next - w == 7 && w[1] == 0xe9 && w[6] == 0x20ac) {
      std::cout << "ok   codecvt<wchar_t> decodes UTF-8\n";
    } else {
      std::cout << "FAIL codecvt<wchar_t>: " << int(r) << ", " << (to_next - w) << " characters\n";
      failed = 1;
    }
    std::wostringstream ws;
    ws.imbue(loc);
    ws << L"\u00e9t\u00e9 " << 1234567;
    std::cout << "ok   wostringstream in that locale: " << ws.str().size() << " characters\n";
  } catch (const std::exception &e) {
    std::cout << "FAIL std::locale(\"\") threw: " << e.what() << "\n";
    failed = 1;
  }
  if (!failed) std::cout << "ALL OK\n";
  return failed;
}
