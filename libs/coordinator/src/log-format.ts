// How a log line reads to a person (`--log pretty`): the message, then the
// fields that say something, numbers at a precision worth reading. JSON lines
// keep every field at full precision for machines.

/** A number as a person reads it: integers as they are, others to 4 significant digits (0.1795, 1.235, 12.35), or whole above 1000. */
export function readableNumber(x: number): string {
  if (!Number.isFinite(x) || Number.isInteger(x)) return String(x);
  return String(Math.abs(x) >= 1000 ? Math.round(x) : Number(x.toPrecision(4)));
}

function readableValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return readableNumber(v);
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && Number.isFinite(x) && !Number.isInteger(x) ? Number(readableNumber(x)) : x));
}

/** `[level] msg key=value …`, leaving out fields that are undefined, null or an empty list. */
export function prettyLine(level: string, msg: string, fields: Record<string, unknown>): string {
  const extra = Object.entries(fields)
    .filter(([, v]) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => `${k}=${readableValue(v)}`)
    .join(' ');
  return `[${level}] ${msg}${extra ? ` ${extra}` : ''}`;
}
