// The key exchange and unmasking stages of one secure sum over socket.io: the
// coordinator asks every participant at once, waits (bounded) for the
// acknowledgements, and hands each answer to the SecAggServer, which checks
// it. A hospital that does not answer, or answers with a refusal or a bad
// message, drops out of the sum at that stage; the run goes on.
import { SecAggReplySchema, describeZodError } from '@fedxray/protocol';
import type { SecAggServer } from '@fedxray/secure';
import type { Connection } from './jobs';

export type SecAggEvent = 'secAggSetup' | 'secAggKeys' | 'secAggRelayed' | 'secAggUnmask';

/** Why a participant left the sum at a stage. */
export interface StageDrop {
  name: string;
  stage: SecAggEvent;
  error: string;
}

/** Sends one stage's message to a participant and resolves with its reply (throws with why there is none). */
function ask(conn: Connection, event: SecAggEvent, msg: unknown, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (!conn.socket.connected) return reject(new Error('not connected'));
    (conn.socket.timeout(timeoutMs) as unknown as { emit(e: string, m: unknown, cb: (err: Error | null, a: unknown) => void): void }).emit(event, msg, (err, raw) => {
      if (err) return reject(new Error(`no answer within ${timeoutMs} ms`));
      const r = SecAggReplySchema.safeParse(raw);
      if (!r.success) return reject(new Error(`bad reply: ${describeZodError(r.error)}`));
      if (!r.data.ok) return reject(new Error(`refused (${r.data.error.code}): ${r.data.error.message}`));
      resolve(r.data.reply);
    });
  });
}

/**
 * One stage: `messages` by participant number, each answer given to `take`
 * (the server's receive method). Returns the participants that answered and
 * were accepted, and the drops.
 */
export async function runStage(
  event: SecAggEvent,
  messages: Map<number, unknown>,
  conns: Map<number, Connection>,
  timeoutMs: number,
  take: (index: number, reply: unknown) => void,
): Promise<{ answered: Set<number>; drops: StageDrop[] }> {
  const answered = new Set<number>();
  const drops: StageDrop[] = [];
  await Promise.all(
    [...messages].map(async ([index, msg]) => {
      const conn = conns.get(index)!;
      try {
        take(index, await ask(conn, event, msg, timeoutMs));
        answered.add(index);
      } catch (err) {
        drops.push({ name: conn.name, stage: event, error: err instanceof Error ? err.message : String(err) });
      }
    }),
  );
  return { answered, drops };
}

/** Stages 1 and 2 (keys, then sealed shares), and the relay of the shares: the participants ready to mask an input. */
export async function exchangeKeys(server: SecAggServer, conns: Map<number, Connection>, timeoutMs: number): Promise<{ ready: Set<number>; drops: StageDrop[] }> {
  const setups = new Map([...conns.keys()].map((i) => [i, server.setupFor(i) as unknown]));
  const s1 = await runStage('secAggSetup', setups, conns, timeoutMs, (i, r) => server.receiveAdvertise(i, r));
  const s2 = await runStage('secAggKeys', server.closeAdvertise() as Map<number, unknown>, conns, timeoutMs, (i, r) => server.receiveShares(i, r));
  const s3 = await runStage('secAggRelayed', server.closeShares() as Map<number, unknown>, conns, timeoutMs, () => {});
  return { ready: s3.answered, drops: [...s1.drops, ...s2.drops, ...s3.drops] };
}

/** Stage 4: the survivors' shares, then the sum with every mask removed. */
export async function unmask(server: SecAggServer, conns: Map<number, Connection>, timeoutMs: number) {
  const s4 = await runStage('secAggUnmask', server.closeCollection() as Map<number, unknown>, conns, timeoutMs, (i, r) => server.receiveUnmaskResponse(i, r));
  return { result: server.finish(), drops: s4.drops };
}
