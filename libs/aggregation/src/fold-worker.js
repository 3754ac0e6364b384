// The second thread of a slot fold (see fold-helper.ts): runs the weighted-sum
// kernels over its share of the tensors, in the memory it shares with the main
// thread, counting the calls done in `flag[1]`, then sets `flag[0]` to the job's
// number (minus it on failure); every change wakes the main thread waiting on `flag[1]`.
// Plain JavaScript so that the thread starts without a TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';

const { module, memory, signal } = workerData;
const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports;
const flag = new Int32Array(signal);

parentPort.on('message', (job) => {
  let status = job.seq;
  try {
    const { kernel, calls } = job;
    const run = kernels[kernel];
    // calls: [pa, pxs, n, pout] per tensor, the rest shared by every call
    for (let i = 0; i < calls.length; i += 4) {
      if (kernel === 'scaleOut') run(calls[i], calls[i + 2], job.scale, calls[i + 3]);
      else run(calls[i], calls[i + 1], job.stride, job.k, calls[i + 2], job.pw, job.scale, calls[i + 3]);
      // one more call done: the main thread may copy its output now
      Atomics.store(flag, 1, (i >> 2) + 1);
      Atomics.notify(flag, 1);
    }
  } catch {
    status = -job.seq;
  }
  Atomics.store(flag, 0, status);
  // after the status, so that a main thread that sees the count change sees the status too
  if (status < 0) Atomics.store(flag, 1, 0x7fffffff);
  Atomics.notify(flag, 1);
});
