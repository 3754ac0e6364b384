// Public API of @fedxray/runtime: what every fedxray library needs from the
// platform, written once. It imports no other fedxray library.
export { mulberry32, mulberry32Bits, withSeededRandom } from './random';
export { startTsWorker, tsBootstrap, tsxApiUrl } from './worker';
export type { TsWorkerOptions } from './worker';
export { writeFileAtomic, writeDirAtomic } from './atomic';
export { isDiskFull, DISK_FULL_CODES } from './disk-full';
export { plural } from './words';
