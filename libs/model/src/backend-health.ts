import * as tf from '@tensorflow/tfjs';
import { onBackendReady } from './backend';
import { BackendError } from './errors';

/** The emscripten module behind tfjs' wasm backend. */
interface EmscriptenModule {
  /** Called before the module throws "Aborted(…)" (a failed allocation inside C++, an assertion). */
  onAbort?: (what: unknown) => void;
  /** Returns 0 when the heap cannot grow; tfjs and the training kernels would then write from address 0. */
  _malloc(bytes: number): number;
  /** The module's exports; `_malloc` is a stub that replaces itself with `asm.malloc` on its first call. */
  asm?: { malloc?: (bytes: number) => number };
}

const watched = new WeakSet<object>();
let dead: { reason: string } | null = null;

function markDead(reason: string): void {
  dead ??= { reason };
}

/**
 * Watches the wasm backend's module (idempotent; nothing to do on other
 * backends): its abort hook, and every allocation from JavaScript — tfjs and
 * the training kernels do not check `_malloc`'s result, so a heap that cannot
 * grow would have them silently overwrite the module's memory from address 0.
 * A failed allocation instead throws, and marks the backend dead.
 */
export function watchBackend(): void {
  const wasm = tf.getBackend() === 'wasm' ? (tf.findBackend('wasm') as unknown as { wasm?: EmscriptenModule } | null)?.wasm : undefined;
  if (!wasm || watched.has(wasm)) return;
  watched.add(wasm);
  const previous = wasm.onAbort;
  wasm.onAbort = (what: unknown) => {
    markDead(`Aborted(${what === undefined ? '' : String(what)})`);
    previous?.(what);
  };
  const malloc = wasm.asm?.malloc ?? wasm._malloc.bind(wasm);
  wasm._malloc = (bytes: number) => {
    const ptr = malloc(bytes);
    if (ptr === 0 && bytes > 0) {
      markDead(`out of memory: could not allocate ${bytes} bytes`);
      throw deadBackendError();
    }
    return ptr;
  };
}

onBackendReady('wasm', () => watchBackend());

/**
 * Whether an error is a trap of the wasm backend's module ("Aborted()",
 * "memory access out of bounds", "unreachable"): after one, its memory is
 * in whatever state the trap left.
 */
export function isBackendCrash(err: unknown): boolean {
  return err instanceof WebAssembly.RuntimeError && tf.getBackend() === 'wasm';
}

/**
 * The error to report for `err`: if it is a crash of the wasm backend, or the
 * backend died before, one BackendError saying that nothing more can run in
 * this process (and why); otherwise `err` itself.
 */
export function backendFailure(err: unknown): unknown {
  if (isBackendCrash(err)) markDead((err as Error).message);
  return dead ? deadBackendError() : err;
}

function deadBackendError(): BackendError {
  return new BackendError(
    `The wasm backend failed (${dead!.reason}), most often because its 4 GiB heap ran out; ` +
      'it cannot compute anything more in this process. Restart it (a hospital: restart `fedxray hospital`), ' +
      'with a smaller --micro-batch, model or image size if it happens again.',
  );
}

/** Throws the BackendError of a dead wasm backend; does nothing while it is usable. */
export function assertBackendAlive(): void {
  watchBackend();
  if (dead) throw deadBackendError();
}
