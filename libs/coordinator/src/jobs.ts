import type { Socket } from 'socket.io';
import type { Ack, Hello, HospitalToServerEvents, ServerToHospitalEvents, WireError } from '@fedxray/protocol';
import type { HospitalJobStatus, JobProgress } from './state';

export type HospitalSocket = Socket<HospitalToServerEvents, ServerToHospitalEvents>;

/** The three things a coordinator asks of a hospital. */
export type JobKind = 'fit' | 'calibrate' | 'evaluate';

export const JOB_STATUS: Record<JobKind, HospitalJobStatus> = { fit: 'training', calibrate: 'calibrating', evaluate: 'evaluating' };

/** What a check makes of a hospital's message: the value kept, or why it is refused (sent back in the acknowledgement). */
export type Verdict<T> = { ok: true; value: T } | { ok: false; error: WireError };

/** How one hospital's job ended: its accepted value, or why it failed. */
export type JobOutcome<T> = { ok: true; value: T } | { ok: false; error: string };

/** Why a job failed whose hospital did not answer in time: the phase's deadline passed, or its heartbeats stopped. */
export const NO_ANSWER = {
  deadline: (ms: number) => `no result within ${ms} ms`,
  heartbeat: (seconds: number) => `no heartbeat for ${seconds} s`,
};

/** Whether a failed job's hospital did not answer in time (see NO_ANSWER). */
export function unanswered(outcome: JobOutcome<unknown>): boolean {
  return !outcome.ok && /^no (result within \d+ ms|heartbeat for \d+ s)$/.test(outcome.error);
}

/** The hospitals whose job of a phase went unanswered. */
export function unansweredBy(results: Map<string, JobOutcome<unknown>>): Set<string> {
  return new Set([...results].filter(([, outcome]) => unanswered(outcome)).map(([name]) => name));
}

/** One connected hospital. */
export interface Connection {
  name: string;
  socket: HospitalSocket;
  /** What it said of itself in hello (null until it has). */
  hello: Hello | null;
  lastSeen: number;
  job: Job | null;
}

/** A job in progress at one hospital. */
export interface Job {
  kind: JobKind;
  round: number;
  attempt: number;
  status: HospitalJobStatus;
  progress: JobProgress | null;
  /** True once the job ended (accepted or failed). */
  settled(): boolean;
  /** Ends the job as failed; false if it had already ended. */
  fail(error: string): boolean;
  /** Takes the hospital's answer: checks it and, if accepted, ends the job. */
  receive(raw: unknown): Promise<Ack>;
}

/** What a phase asks of each hospital and how it takes the answer. */
export interface JobSpec<M extends { runId: string; round: number }, T> {
  kind: JobKind;
  round: number;
  attempt: number;
  /** Sends the request to one hospital. */
  send(conn: Connection): void;
  /** The answer's schema (intake). */
  parse(raw: unknown): Verdict<M>;
  /** Whether a schema-valid answer is to this job at all (beyond run and round), e.g. the split asked for; one that is not is stale, not wrong. */
  answers?(msg: M): boolean;
  /** The answer's content, checked with the owning library's checks; what the phase keeps. Called once, while the job is pending. */
  accept(conn: Connection, msg: M): Verdict<T> | Promise<Verdict<T>>;
  /** Told as each hospital's job ends. */
  settled?(name: string, outcome: JobOutcome<T>): void;
}
