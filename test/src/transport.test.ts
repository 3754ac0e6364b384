import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connect } from 'socket.io-client';
import { serverTransportOptions } from '@fedxray/coordinator';
import { hospitalSocketOptions } from '@fedxray/hospital';
import { parseClientStream, recordingProxy } from './support/wire';
import { DEFAULT_MAX_PAYLOAD_BYTES, decodeWeights, encodeWeights, type NamedWeights, type WeightsPayload } from '@fedxray/protocol';

function bigWeights(totalValues: number): NamedWeights {
  // 612 tensors like DenseNet121 with the study's head, sized to `totalValues`.
  const n = 612;
  const per = Math.floor(totalValues / n);
  return Array.from({ length: n }, (_, i) => {
    const len = i === n - 1 ? totalValues - per * (n - 1) : per;
    const values = new Float32Array(len);
    for (let k = 0; k < len; k++) values[k] = Math.sin(i * 7919 + k) * 0.1;
    return { name: `layer${i}/kernel`, shape: [len], values };
  });
}

async function echoServer(options: object): Promise<{ url: string; close(): Promise<void> }> {
  const http = createServer();
  const io = new Server(http, options);
  io.on('connection', (socket) => {
    socket.on('echo', (payload: WeightsPayload, ack: (p: WeightsPayload) => void) => ack(payload));
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const { port } = http.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => io.close(() => r())) };
}

test('a 30 MB weights message crosses the real transport intact, both ways', { timeout: 60_000 }, async () => {
  const weights = bigWeights(7_566_404);
  const payload = encodeWeights(weights);
  assert.ok(payload.byteLength > 30_000_000);
  const server = await echoServer(serverTransportOptions(DEFAULT_MAX_PAYLOAD_BYTES));
  const client = connect(server.url, { transports: ['websocket'] });
  try {
    const back = (await client.timeout(30_000).emitWithAck('echo', payload)) as WeightsPayload;
    const decoded = decodeWeights(back); // checks byte count and CRC-32
    assert.equal(decoded.length, 612);
    for (const t of [0, 300, 611]) assert.deepEqual(decoded[t].values, weights[t].values);
  } finally {
    client.disconnect();
    await server.close();
  }
});

test("socket.io's default 1 MB limit drops the same message (why the limit is set on purpose)", { timeout: 60_000 }, async () => {
  const payload = encodeWeights(bigWeights(7_566_404));
  const server = await echoServer({ transports: ['websocket'] });
  const client = connect(server.url, { transports: ['websocket'], reconnection: false });
  try {
    await new Promise<void>((r) => client.once('connect', () => r()));
    const disconnected = new Promise<string>((r) => client.once('disconnect', (reason) => r(reason)));
    await assert.rejects(client.timeout(5_000).emitWithAck('echo', payload));
    assert.match(await disconnected, /transport close|transport error/);
  } finally {
    client.disconnect();
    await server.close();
  }
});

test("a hospital's frames carry a zero mask key by default, random keys with maskFrames, and arrive intact", { timeout: 60_000 }, async () => {
  const payload = encodeWeights(bigWeights(300_000));
  const server = await echoServer(serverTransportOptions(DEFAULT_MAX_PAYLOAD_BYTES));
  try {
    for (const maskFrames of [false, true]) {
      const proxy = await recordingProxy(new URL(server.url));
      const client = connect(proxy.url, hospitalSocketOptions(maskFrames) as Parameters<typeof connect>[1]);
      const back = (await client.timeout(30_000).emitWithAck('echo', payload)) as WeightsPayload;
      client.disconnect();
      const { frames } = parseClientStream(proxy.sent());
      await proxy.close();
      assert.equal(Buffer.compare(Buffer.from(back.data), Buffer.from(payload.data)), 0, 'the payload came back intact');
      const binary = frames.filter((f) => f.opcode === 2);
      assert.equal(binary.reduce((n, f) => n + f.payload.length, 0), payload.byteLength, 'the weights were sent as binary frames');
      const zero = frames.filter((f) => f.maskKey.readUInt32BE(0) === 0).length;
      if (maskFrames) assert.ok(zero <= 1, `${zero} of ${frames.length} frames had a zero key with maskFrames`);
      else assert.equal(zero, frames.length, 'every frame has the zero key');
    }
  } finally {
    await server.close();
  }
});
