// Where a secure-aggregation message enters: schema first, then the session.
import { describeZodError } from '@fedxray/protocol';
import type { z } from 'zod';
import { SecureError } from './errors';

/** `msg` parsed by `schema` for `session`; anything else is refused with what was expected. */
export function parseMessage<S extends z.ZodType<{ session: string }>>(schema: S, msg: unknown, what: string, session: string): z.infer<S> {
  const parsed = schema.safeParse(msg);
  if (!parsed.success) throw new SecureError('bad_message', `Malformed ${what}: ${describeZodError(parsed.error)}`);
  const value = parsed.data as z.infer<S>;
  if (value.session !== session) throw new SecureError('bad_message', `${what} for session "${value.session}", expected "${session}"`);
  return value;
}

/** Refuses a list with repeated entries. */
export function checkDistinct(values: readonly number[], what: string): void {
  if (new Set(values).size !== values.length) throw new SecureError('duplicate', `${what} lists a participant twice: [${values.join(', ')}]`);
}

/** "masked input" → "Masked input", for messages that start a sentence. */
export function capitalised(what: string): string {
  return what.charAt(0).toUpperCase() + what.slice(1);
}
