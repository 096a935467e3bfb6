/* What a C program that nobody wrote for distroless expects of a glibc
   system: the locale LANG names, iconv's converters, OpenSSL's default
   trust paths, the hosts and passwd databases. Prints one line per check
   and "ALL OK" last when every check passed. Arguments: iconv encodings
   that must fail (dropped from the image) after "--dropped", and that
   must open after "--present". */
#include <errno.h>
#include <iconv.h>
#include <langinfo.h>
#include <locale.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <wchar.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/pem.h>

static int failed;

#define CHECK(cond, ...)                    \
  do {                                      \
    if (cond) {                             \
      printf("ok   ");                      \
    } else {                                \
      printf("FAIL ");                      \
      failed = 1;                           \
    }                                       \
    printf(__VA_ARGS__);                    \
    printf("\n");                           \
  } while (0)

/* Encodings of the default iconv set, each with a sample it can hold. */
static const struct {
  const char *enc, *sample;
} encodings[] = {
    {"UTF-16", "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"},
    {"UTF-16LE", "h\xc3\xa9llo \xe2\x82\xac"},
    {"UTF-16BE", "h\xc3\xa9llo \xe2\x82\xac"},
    {"UTF-32", "h\xc3\xa9llo \xf0\x9f\x98\x80"},
    {"UTF-7", "h\xc3\xa9llo \xe2\x82\xac"},
    {"UCS-2", "h\xc3\xa9llo"},
    {"ISO-8859-1", "h\xc3\xa9llo"},
    {"LATIN1", "h\xc3\xa9llo"},
    {"ISO-8859-2", "\xc5\x82\xc3\xb3" "d\xc5\xba"},
    {"ISO-8859-5", "\xd0\xbf\xd1\x80\xd0\xb8"},
    {"ISO-8859-7", "\xce\xb1\xce\xb2"},
    {"ISO-8859-15", "h\xc3\xa9llo \xe2\x82\xac"},
    {"CP1250", "\xc5\x82\xc3\xb3" "d\xc5\xba"},
    {"CP1251", "\xd0\xbf\xd1\x80\xd0\xb8"},
    {"CP1252", "h\xc3\xa9llo \xe2\x82\xac"},
    {"WINDOWS-1252", "h\xc3\xa9llo \xe2\x82\xac"},
    {"CP1256", "\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85"},
    {"IBM850", "h\xc3\xa9llo"},
    {"KOI8-R", "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"},
    {"KOI8-U", "\xd1\x97\xd0\xb6\xd0\xb0\xd0\xba"},
    {"EUC-JP", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"},
    {"SHIFT_JIS", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"},
    {"SJIS", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"},
    {"CP932", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"},
    {"ISO-2022-JP", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"},
    {"EUC-KR", "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4"},
    {"CP949", "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4"},
    {"GB2312", "\xe4\xb8\xad\xe6\x96\x87"},
    {"GBK", "\xe4\xb8\xad\xe6\x96\x87"},
    {"GB18030", "\xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80"},
    {"BIG5", "\xe4\xb8\xad\xe6\x96\x87"},
    {"BIG5-HKSCS", "\xe4\xb8\xad\xe6\x96\x87"},
    {"IBM037", "Hello, World"},
    {"IBM1047", "Hello, World"},
    {"ASCII", "Hello"},
};

static int roundtrip(const char *enc, const char *in) {
  iconv_t to = iconv_open(enc, "UTF-8"), from = iconv_open("UTF-8", enc);
  if (to == (iconv_t)-1 || from == (iconv_t)-1) return 0;
  char mid[256], out[256];
  char *ip = (char *)in, *op = mid;
  size_t il = strlen(in), ol = sizeof mid;
  if (iconv(to, &ip, &il, &op, &ol) == (size_t)-1) return 0;
  if (iconv(to, NULL, NULL, &op, &ol) == (size_t)-1) return 0;
  size_t ml = sizeof mid - ol;
  ip = mid, il = ml, op = out, ol = sizeof out - 1;
  if (iconv(from, &ip, &il, &op, &ol) == (size_t)-1) return 0;
  *op = 0;
  iconv_close(to);
  iconv_close(from);
  return strcmp(out, in) == 0;
}

int main(int argc, char **argv) {
  /* A program that resets its environment: OpenSSL must find the trust
     store through its defaults. */
  unsetenv("SSL_CERT_FILE");
  unsetenv("SSL_CERT_DIR");

  const char *loc = setlocale(LC_ALL, "");
  CHECK(loc != NULL, "setlocale(LC_ALL, \"\") with LANG=%s: %s", getenv("LANG"), loc ? loc : "NULL");
  CHECK(strcmp(nl_langinfo(CODESET), "UTF-8") == 0, "nl_langinfo(CODESET) = %s", nl_langinfo(CODESET));
  wchar_t w[32];
  size_t n = mbstowcs(w, "h\xc3\xa9llo \xe2\x82\xac \xe6\x97\xa5", 32);
  CHECK(n == 9 && w[1] == 0xe9 && w[6] == 0x20ac && w[8] == 0x65e5, "mbstowcs of UTF-8: %zd wide characters", (ssize_t)n);

  for (size_t i = 0; i < sizeof encodings / sizeof encodings[0]; i++)
    CHECK(roundtrip(encodings[i].enc, encodings[i].sample), "iconv UTF-8 <-> %s round trip", encodings[i].enc);
  /* --dropped ENC...: must fail with EINVAL; --present ENC...: must open. */
  int mode = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--dropped") == 0 || strcmp(argv[i], "--present") == 0) {
      mode = argv[i][2];
      continue;
    }
    errno = 0;
    iconv_t cd = iconv_open(argv[i], "UTF-8");
    int e = errno;
    if (mode == 'd')
      CHECK(cd == (iconv_t)-1 && e == EINVAL, "iconv_open(%s) fails cleanly: %s", argv[i], cd == (iconv_t)-1 ? strerror(e) : "opened");
    else
      CHECK(cd != (iconv_t)-1, "iconv_open(%s) opens: %s", argv[i], cd == (iconv_t)-1 ? strerror(e) : "ok");
    if (cd != (iconv_t)-1) iconv_close(cd);
  }

  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  CHECK(SSL_CTX_set_default_verify_paths(ctx) == 1, "SSL_CTX_set_default_verify_paths");
  int objs = sk_X509_OBJECT_num(X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx)));
  CHECK(objs > 100, "default CA file %s: %d certificates loaded", X509_get_default_cert_file(), objs);
  SSL_CTX_free(ctx);

  /* The hash directory alone: verify a CA through /usr/lib/ssl/certs. */
  FILE *f = fopen("/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt", "r");
  X509 *ca = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
  if (f) fclose(f);
  X509_STORE *st = X509_STORE_new();
  int dirok = X509_STORE_load_locations(st, NULL, X509_get_default_cert_dir());
  X509_STORE_CTX *vc = X509_STORE_CTX_new();
  int verified = ca && dirok && X509_STORE_CTX_init(vc, st, ca, NULL) == 1 && X509_verify_cert(vc) == 1;
  CHECK(verified, "ISRG Root X1 verified through the default directory %s alone", X509_get_default_cert_dir());

  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo("localhost", "80", &hints, &res);
  CHECK(rc == 0 && res != NULL, "getaddrinfo(localhost): %s", rc == 0 ? "resolved" : gai_strerror(rc));
  if (res) freeaddrinfo(res);

  struct passwd *pw = getpwuid(65532);
  CHECK(pw && strcmp(pw->pw_name, "nonroot") == 0 && strcmp(pw->pw_dir, "/home/nonroot") == 0,
        "getpwuid(65532) = %s", pw ? pw->pw_name : "NULL");

  if (!failed) printf("ALL OK\n");
  return failed;
}
