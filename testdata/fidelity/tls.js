// OpenSSL's default trust directory as Node sees it with --use-openssl-ca
// and no SSL_CERT_FILE: an https server of this script's own, on
// 127.0.0.1, whose certificate a test CA signed; the test mounts that CA
// as /etc/ssl/certs/HASH.0 (the name `openssl rehash` would give it), so
// only OpenSSL's default directory (/usr/lib/ssl/certs) can find it.
'use strict';
const fs = require('fs');
const https = require('https');
const dir = process.argv[2];
let failed = false;
function check(ok, msg) {
  console.log((ok ? 'ok   ' : 'FAIL ') + msg);
  if (!ok) failed = true;
}
check(!process.env.SSL_CERT_FILE, 'SSL_CERT_FILE unset: ' + JSON.stringify(process.env.SSL_CERT_FILE));
check(process.execArgv.includes('--use-openssl-ca'), 'node runs with --use-openssl-ca');
const server = https.createServer({
  key: fs.readFileSync(dir + '/server-key.pem'),
  cert: fs.readFileSync(dir + '/server.pem'),
}, (req, res) => res.end('hello over TLS'));
server.listen(0, '127.0.0.1', () => {
  const port = server.address().port;
  https.get({ host: '127.0.0.1', port, servername: 'localhost' }, (res) => {
    let body = '';
    res.on('data', (d) => (body += d));
    res.on('end', () => {
      check(body === 'hello over TLS', 'https to 127.0.0.1 verified through the default trust directory: ' + body);
      server.close();
      if (!failed) console.log('ALL OK');
      process.exitCode = failed ? 1 : 0;
    });
  }).on('error', (e) => {
    check(false, 'https: ' + e.message);
    server.close();
    process.exitCode = 1;
  });
});
