'use strict';
// The test application: express answers two routes, one of which makes
// and reads back a PNG with sharp (its prebuilt addon and libvips); the
// process asks itself both over loopback, prints the answers and its
// uid, and exits.
const http = require('http');
const express = require('express');
const sharp = require('sharp');

const app = express();
app.get('/hello/:name', (req, res) => res.json({ hello: req.params.name }));
app.get('/image', async (req, res, next) => {
  try {
    const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toBuffer();
    const meta = await sharp(png).metadata();
    res.json({ format: meta.format, width: meta.width, height: meta.height, vips: sharp.versions.vips });
  } catch (e) {
    next(e);
  }
});

const server = app.listen(0, '127.0.0.1', async () => {
  const port = server.address().port;
  const get = (p) => new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p }, (r) => {
      let body = '';
      r.on('data', (d) => { body += d; });
      r.on('end', () => resolve(r.statusCode + ' ' + body));
    }).on('error', reject);
  });
  try {
    console.log(await get('/hello/distroless'));
    console.log(await get('/image'));
    console.log('uid ' + process.getuid());
    server.close();
  } catch (e) {
    console.error(e);
    process.exit(1);
  }
});
