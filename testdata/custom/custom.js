// The custom-CA check in nodejs: https with node's default trust.
'use strict';
const https = require('https');
https.get(process.argv[2], (res) => {
  let body = '';
  res.on('data', (d) => (body += d));
  res.on('end', () => console.log('ok   node: ' + body));
}).on('error', (e) => {
  console.log('FAIL node: ' + e.message);
  process.exitCode = 1;
});
