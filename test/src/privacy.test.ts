import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { Coordinator } from '@fedxray/coordinator';
import { Hospital } from '@fedxray/hospital';
import { makeBlobDataset, tempDir } from './support/images';
import { parseClientStream, recordingProxy } from './support/wire';

test('every byte a hospital sends is weights, metrics and protocol: no pixels, no file names', { timeout: 180_000 }, async () => {
  // Prepare: distinctive file and folder names, and a coordinator behind a recording proxy.
  const classes = ['leftlung-zzqx', 'rightlung-wwkv'];
  const { dir } = await makeBlobDataset({ perClass: 24, size: 16, seed: 3, classes: ['left', 'right'] });
  const renamed = tempDir();
  const { renameSync, mkdirSync } = await import('node:fs');
  const files: string[] = [];
  classes.forEach((cls, i) => {
    mkdirSync(join(renamed, cls));
    for (const f of readdirSync(join(dir, ['left', 'right'][i]))) {
      const name = `patient-${cls}-${f.replace('.png', '')}-mrn4471.png`;
      renameSync(join(dir, ['left', 'right'][i], f), join(renamed, cls, name));
      files.push(join(renamed, cls, name));
    }
  });
  const token = 'privacy-token-000000000000';
  const coordinator = await Coordinator.start({
    dataDir: tempDir(),
    port: 0,
    rounds: 2,
    minAvailable: 1,
    minFit: 1,
    heartbeatIntervalMs: 300,
    fit: { localEpochs: 1, batchSize: 8 },
    model: { arch: 'densenet-tiny', imageSize: 16, classes },
    staticTokens: { 'hospital-p': token },
  });
  const proxy = await recordingProxy(new URL(coordinator.url));
  const hospital = await Hospital.start({ coordinator: proxy.url, token, trainer: { data: { dir: renamed }, backend: 'cpu', augment: false } });

  // Execute
  const result = await coordinator.done;
  await hospital.close();
  const sent = proxy.sent();
  await proxy.close();
  const received = coordinator.counts().bytesReceived;
  await coordinator.close();
  assert.equal(result.status, 'complete', result.error);

  // Assert: unmask every WebSocket frame the hospital sent.
  const { http, frames, framingBytes } = parseClientStream(sent);
  assert.ok(frames.length > 0);
  const content = Buffer.concat(frames.map((f) => f.payload));
  const text = content.toString('latin1');
  for (const word of ['patient-', 'mrn4471', '.png', renamed, ...files.slice(0, 5)]) {
    assert.ok(!text.includes(word), `found ${JSON.stringify(word)} in what the hospital sent`);
  }
  // No image content: no 32-byte run of any image's file bytes or decoded pixels appears.
  for (const f of files.slice(0, 8)) {
    const png = readFileSync(f);
    const raw = await sharp(f).raw().toBuffer();
    for (const blob of [png, raw]) {
      for (let off = 0; off + 32 <= blob.length; off += 16) {
        assert.equal(content.indexOf(blob.subarray(off, off + 32)), -1, `bytes of ${f} found in the traffic`);
      }
    }
  }
  // The bytes are what weights and metrics explain: binary frames are the weight payloads
  // (exactly the bytes the coordinator counted), text frames are small JSON messages.
  const binary = frames.filter((f) => f.opcode === 2).reduce((s, f) => s + f.payload.length, 0);
  assert.equal(binary, received, 'binary frames are exactly the weights and BatchNorm statistics the coordinator received');
  const textFrames = frames.filter((f) => f.opcode === 1);
  const allowed = ['hello', 'heartbeat', 'progress', 'fitResult', 'calibrateResult', 'evaluateResult', 'failure'];
  for (const f of textFrames) {
    const s = f.payload.toString('utf8');
    if (/^[0-9]+$/.test(s) || s === '3' || s.startsWith('40')) continue; // engine.io pong / socket.io connect
    const m = /^4[25]\d*-?(\d*)(\[.*\])$/s.exec(s);
    assert.ok(m, `unexpected frame ${s.slice(0, 80)}`);
    const [event] = JSON.parse(m[2]);
    assert.ok(allowed.includes(event), `unexpected event ${event}`);
  }
  const textBytes = textFrames.reduce((s, f) => s + f.payload.length, 0);
  // Evaluation summaries (histograms) dominate the JSON; everything else is a few hundred bytes a message.
  assert.ok(textBytes < 400_000, `JSON traffic ${textBytes} bytes`);
  assert.equal(framingBytes + binary + textBytes + frames.filter((f) => f.opcode !== 1 && f.opcode !== 2).reduce((s, f) => s + f.payload.length, 0), sent.length);
  assert.ok(http.every((h) => !h.includes('patient-')));
});
