import { Command } from 'commander';
import { parseIntOption } from '../../usage';

interface TransportFlags {
  megabytes: number;
  repeats: number;
  json?: boolean;
  float16?: boolean;
  decode?: boolean;
  maskFrames?: boolean;
  compareStock?: boolean;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * `fedxray bench transport`: weights down to a hospital and back up over a
 * loopback websocket, with the coordinator's and hospital's real transport
 * settings (binary attachment, no per-message deflate, the hospital's frame masking, bufferutil if installed).
 */
export function benchTransportCommand(): Command {
  return new Command('transport')
    .description('Send a DenseNet121-sized weights message down to a hospital and up again over loopback socket.io')
    .option('--megabytes <n>', 'payload size in MB (DenseNet121 with the study head is 30.3)', parseIntOption('--megabytes', 1), 30)
    .option('--repeats <n>', 'transfers each way; the median is reported', parseIntOption('--repeats', 1), 7)
    .option('--float16', 'encode the weights as float16 (half the bytes)')
    .option('--decode', 'also decode on arrival (CRC-32 check and tensor views), as the coordinator and hospital do')
    .option('--mask-frames', "mask the hospital's frames with random keys, as browsers do (the hospital's maskFrames: true)")
    .option('--compare-stock', 'also time socket.io with its stock settings (websocket transport, the payload limit raised to fit, random frame masks) in the same run')
    .option('--json', 'print JSON')
    .action(async (flags: TransportFlags) => {
      const { createServer } = await import('node:http');
      const { Server } = await import('socket.io');
      const { io } = await import('socket.io-client');
      const { serverTransportOptions } = await import('@fedxray/coordinator');
      const { DEFAULT_MAX_PAYLOAD_BYTES, encodeWeights, decodeWeights } = await import('@fedxray/protocol');
      let bufferutil = false;
      try {
        const { createRequire } = await import('node:module');
        createRequire(import.meta.url)('bufferutil');
        bufferutil = true;
      } catch {
        bufferutil = false;
      }
      const values = Math.round((flags.megabytes * 1e6) / 4);
      const n = 612;
      const per = Math.floor(values / n);
      const weights = Array.from({ length: n }, (_, i) => {
        const len = i === n - 1 ? values - per * (n - 1) : per;
        const v = new Float32Array(len);
        for (let k = 0; k < len; k++) v[k] = Math.sin(i + k * 1e-3);
        return { name: `t${i}`, shape: [len], values: v };
      });
      const payload = encodeWeights(weights, { dtype: flags.float16 ? 'float16' : 'float32' });
      const { hospitalSocketOptions } = await import('@fedxray/hospital');
      // Receivers check the byte count (transport alone) or fully decode (CRC-32 + views) when asked.
      const receive = (p: any) => (flags.decode ? decodeWeights(p).length === n : p.data.byteLength === payload.byteLength);
      const measure = async (label: string, serverOptions: Partial<import('socket.io').ServerOptions>, clientOptions: Parameters<typeof io>[1]) => {
        const http = createServer();
        const server = new Server(http, serverOptions);
        await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
        const port = (http.address() as import('node:net').AddressInfo).port;
        const connected = new Promise<import('socket.io').Socket>((r) => server.once('connection', r));
        const client = io(`http://127.0.0.1:${port}`, clientOptions);
        const peer = await connected;
        client.on('fit', (p: any, ack: (ok: boolean) => void) => ack(receive(p)));
        peer.on('fitResult', (p: any, ack: (ok: boolean) => void) => ack(receive(p)));
        const down: number[] = [];
        const up: number[] = [];
        try {
          for (let i = 0; i < flags.repeats + 1; i++) {
            let t = performance.now();
            const okDown = await peer.timeout(60_000).emitWithAck('fit', payload);
            const dDown = performance.now() - t;
            t = performance.now();
            const okUp = await client.timeout(60_000).emitWithAck('fitResult', payload);
            const dUp = performance.now() - t;
            if (!okDown || !okUp) throw new Error('payload arrived damaged');
            if (i === 0) continue; // warm-up
            down.push(payload.byteLength / 1e6 / (dDown / 1000));
            up.push(payload.byteLength / 1e6 / (dUp / 1000));
            if (!flags.json) process.stderr.write(`  ${label} transfer ${i}/${flags.repeats}: down ${down.at(-1)!.toFixed(0)} MB/s, up ${up.at(-1)!.toFixed(0)} MB/s\n`);
          }
        } finally {
          client.disconnect();
          await new Promise<void>((r) => server.close(() => r()));
        }
        return { downMBps: Math.round(median(down)), upMBps: Math.round(median(up)) };
      };
      const ours = await measure('fedxray', serverTransportOptions(DEFAULT_MAX_PAYLOAD_BYTES), hospitalSocketOptions(flags.maskFrames));
      const stock = flags.compareStock
        ? await measure('stock', { maxHttpBufferSize: DEFAULT_MAX_PAYLOAD_BYTES }, { transports: ['websocket'] })
        : undefined;
      const result = {
        bytes: payload.byteLength,
        dtype: flags.float16 ? 'float16' : 'float32',
        repeats: flags.repeats,
        downMBps: ours.downMBps,
        upMBps: ours.upMBps,
        bufferutil,
        decode: !!flags.decode,
        maskFrames: !!flags.maskFrames,
        ...(stock ? { stock, downVsStock: ours.downMBps / stock.downMBps, upVsStock: ours.upMBps / stock.upMBps } : {}),
        note: flags.decode ? 'each transfer includes decoding on arrival (CRC-32 and tensor views); median after one warm-up' : 'transport only (byte count checked on arrival); median after one warm-up',
      };
      if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else {
        process.stdout.write(`${(result.bytes / 1e6).toFixed(1)} MB ${result.dtype}: down ${result.downMBps} MB/s, up ${result.upMBps} MB/s (bufferutil ${bufferutil ? 'on' : 'off'})\n`);
        if (stock) process.stdout.write(`  stock socket.io settings: down ${stock.downMBps} MB/s, up ${stock.upMBps} MB/s\n`);
      }
    });
}
