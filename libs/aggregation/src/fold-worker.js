// The second thread of a slot fold (see fold-helper.ts): works through its range
// of the fold's items (`control[2]`) from the front, then takes items from the
// end of the main thread's (`control[1]`); runs the weighted-sum kernels on each,
// in the memory it shares with the main thread, and marks each one done with the
// job's number (`control[4 + item]`), after setting `control[3]` if the kernel
// read a NaN or ±Inf value. When no item is left it sets `control[0]` to the
// job's number (minus it on failure). Every mark wakes a main thread waiting on it.
// Plain JavaScript so that the thread starts without a TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import { claim } from './fold-claim.js';

const { module, memory, control: shared } = workerData;
const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports;
const control = new Int32Array(shared);
const STATUS = 0;
const MAIN = 1;
const HELP = 2;
const NONFINITE = 3;
const DONE = 4;

parentPort.on('message', (job) => {
  const { seq, kernel, calls } = job;
  const run = kernels[kernel];
  let status = seq;
  try {
    for (;;) {
      let i = claim(control, HELP, true);
      if (i < 0) i = claim(control, MAIN, false);
      if (i < 0) break;
      const c = 4 * i;
      // calls: [pa, pxs, n, pout] per item, the rest shared by every call
      if (kernel === 'scaleOut') run(calls[c], calls[c + 2], job.scale, calls[c + 3]);
      else if (run(calls[c], calls[c + 1], job.stride, job.k, calls[c + 2], job.pw, job.scale, calls[c + 3])) Atomics.store(control, NONFINITE, 1);
      Atomics.store(control, DONE + i, seq);
      Atomics.notify(control, DONE + i);
    }
  } catch {
    status = -seq;
  }
  Atomics.store(control, STATUS, status);
  Atomics.notify(control, STATUS);
});
