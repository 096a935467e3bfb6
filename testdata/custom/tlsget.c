/* tlsget: connects to 127.0.0.1:PORT with OpenSSL's default trust paths
 * (SSL_CTX_set_default_verify_paths, SSL_CERT_FILE unset by the test) and
 * verifies the server's certificate for 127.0.0.1; prints "ok   c: …" or
 * "FAIL c: …". */
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: tlsget PORT\n");
		return 2;
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || SSL_CTX_set_default_verify_paths(ctx) != 1) {
		printf("FAIL c: no default verify paths\n");
		return 1;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {0};
	a.sin_family = AF_INET;
	a.sin_port = htons(atoi(argv[1]));
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		printf("FAIL c: connect\n");
		return 1;
	}
	SSL *ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set1_host(ssl, "127.0.0.1");
	if (SSL_connect(ssl) != 1) {
		printf("FAIL c: handshake: %s\n", X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
		return 1;
	}
	const char *req = "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
	SSL_write(ssl, req, strlen(req));
	char buf[4096];
	int n = SSL_read(ssl, buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = 0;
	printf("ok   c: %s\n", strstr(buf, "hello") ? "hello" : "(no body)");
	return 0;
}
