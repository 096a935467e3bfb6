// Package trust holds the certificate formats assemble's trust-store
// generators read and write, apart from the image they work on:
//
//   - SubjectHash is OpenSSL's subject name hash, which names the
//     /etc/ssl/certs/HASH.N links (the "ca-certificates" generator).
//   - ParseP11Kit, P11Value and EKUAllowsTLSServer read p11-kit's
//     persistent format, the RPM family's trust sources (the "ca-trust"
//     generator).
//   - JavaTrustStore encodes a PEM bundle as Java's PKCS#12 trust store,
//     with software.sslmate.com/src/go-pkcs12 (the "java-cacerts"
//     generator).
//   - LocalCA checks a CA certificate file added to the trust store
//     (the generators' local CAs, gen's --ca-cert).
package trust
