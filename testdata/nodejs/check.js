// The check run in the nodejs image (runtimes_integration_test.go). The
// test mounts this directory at /check with a test CA (ca.pem) and a
// server certificate it signed (server.pem, server-key.pem, for
// 127.0.0.1 and localhost), and sets NODE_EXTRA_CA_CERTS=/check/ca.pem.
// The script prints what it found, one fact a line, and "ALL OK" last; a
// failed check exits non-zero.
'use strict';

const assert = require('assert');
const crypto = require('crypto');
const fs = require('fs');
const https = require('https');
const os = require('os');
const path = require('path');
const tls = require('tls');
const zlib = require('zlib');

async function main() {
  console.log(`node ${process.version} (openssl ${process.versions.openssl}, icu ${process.versions.icu}, zlib ${process.versions.zlib})`);

  // crypto
  const sum = crypto.createHash('sha256').update('abc').digest('hex');
  assert.strictEqual(sum, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  const uuid = crypto.randomUUID();
  assert.match(uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notStrictEqual(uuid, crypto.randomUUID());
  console.log(`crypto: sha256 ok, randomUUID ${uuid}`);

  // zlib: gzip and brotli round trips
  const text = Buffer.from('distroless nodejs check\n'.repeat(200));
  const gz = zlib.gzipSync(text);
  assert.ok(zlib.gunzipSync(gz).equals(text));
  const br = zlib.brotliCompressSync(text);
  assert.ok(zlib.brotliDecompressSync(br).equals(text));
  assert.ok(gz.length < text.length / 10 && br.length < text.length / 10);
  console.log(`zlib: ${text.length} bytes, gzip ${gz.length}, brotli ${br.length}`);

  // Intl with full ICU data: French and German, a time zone.
  const date = new Date(Date.UTC(2024, 0, 15, 11, 0, 0));
  const fr = new Intl.DateTimeFormat('fr-FR', {
    dateStyle: 'full', timeStyle: 'short', timeZone: 'Europe/Paris',
  }).format(date);
  assert.strictEqual(fr, 'lundi 15 janvier 2024 à 12:00');
  const de = new Intl.NumberFormat('de-DE', { style: 'currency', currency: 'EUR' }).format(1234567.891);
  assert.strictEqual(de, '1.234.567,89\u00a0€');
  const supported = Intl.DateTimeFormat.supportedLocalesOf(['fr-FR', 'de-DE', 'ja-JP', 'ar-EG']);
  assert.strictEqual(supported.length, 4, `supported locales: ${supported}`);
  console.log(`Intl: ${fr} / ${de} / ${supported.join(' ')}`);

  // fs in the temporary directory
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'check-'));
  const file = path.join(dir, 'data.txt');
  fs.writeFileSync(file, text);
  assert.ok(fs.readFileSync(file).equals(text));
  fs.rmSync(dir, { recursive: true });
  assert.ok(!fs.existsSync(dir));
  console.log(`fs: wrote and removed ${file}`);

  // https to a server of this process, whose certificate the CA of
  // NODE_EXTRA_CA_CERTS signed.
  assert.ok(process.env.NODE_EXTRA_CA_CERTS, 'NODE_EXTRA_CA_CERTS is not set');
  const server = https.createServer({
    cert: fs.readFileSync('/check/server.pem'),
    key: fs.readFileSync('/check/server-key.pem'),
  }, (req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`hello over ${req.socket.getProtocol()}`);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const get = (options) => new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/', ...options }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
  const ok = await get({});
  assert.strictEqual(ok.status, 200);
  assert.match(ok.body, /^hello over TLSv1\.[23]$/);
  console.log(`https: ${ok.body} from 127.0.0.1:${port}, verified through NODE_EXTRA_CA_CERTS`);
  // Verification is real: with only the bundled roots, the same server
  // is refused.
  await assert.rejects(get({ ca: tls.rootCertificates, agent: false }),
    (err) => /certificate|verify/i.test(err.code + ' ' + err.message));
  console.log('https: refused without the test CA');
  server.close();

  console.log('ALL OK');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
