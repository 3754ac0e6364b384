// Property-based fuzzing support: fast-check arbitraries built from the zod
// schemas of libs/protocol (messages of the right shape with hostile values),
// and mutations of them (a field dropped, a value swapped for any JSON, the
// whole message replaced).
import fc from 'fast-check';
import type { z } from 'zod';

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  innerType?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  entries?: Record<string, string | number>;
  values?: unknown[];
}

const def = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** Numbers a validator must survive: edges, non-finite values, huge and fractional ones. */
const hostileNumber = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(Number.NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 1e300, -0, 0.5),
);

/** An arbitrary of values shaped like `schema` (types right, values anything of that type). */
export function fromSchema(schema: z.ZodType, depth = 0): fc.Arbitrary<unknown> {
  const d = def(schema);
  const deeper = (s: z.ZodType) => fromSchema(s, depth + 1);
  const max = depth > 2 ? 2 : 4;
  switch (d.type) {
    case 'object': {
      const shape = d.shape ?? {};
      const required = Object.keys(shape).filter((k) => def(shape[k]).type !== 'optional');
      return fc.record(Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, deeper(v)])), { requiredKeys: required });
    }
    case 'string':
      return fc.oneof(fc.string({ maxLength: 24 }), fc.constantFrom('', 'a', 'b', 'c', '../../etc/passwd', '\u0000', 'x'.repeat(5000)));
    case 'number':
      return hostileNumber;
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(deeper(d.element!), { maxLength: max });
    case 'enum':
      return fc.constantFrom(...Object.values(d.entries ?? { x: 'x' }));
    case 'literal':
      return fc.constantFrom(...(d.values ?? [null]));
    case 'optional':
    case 'default':
      return fc.option(deeper(d.innerType!), { nil: undefined });
    case 'record':
      return fc.dictionary(fc.string({ maxLength: 8 }), deeper(d.valueType!), { maxKeys: max });
    case 'union':
      return fc.oneof(...(d.options ?? []).map(deeper));
    case 'custom':
      // The protocol's only custom type is binary data (a weights payload's bytes).
      return fc.uint8Array({ maxLength: 256 });
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

type Path = (string | number)[];

function paths(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (value && typeof value === 'object' && !(value instanceof Uint8Array)) {
    for (const [k, v] of Object.entries(value)) paths(v, [...prefix, Array.isArray(value) ? Number(k) : k], out);
  }
  return out;
}

/** `value` with the node at `path` replaced (or deleted when `replacement` is the DELETE marker). */
function replaced(value: unknown, path: Path, replacement: unknown): unknown {
  if (path.length === 0) return replacement === DELETE ? undefined : replacement;
  const [head, ...rest] = path;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string | number, unknown>;
  const next = replaced(copy[head], rest, replacement);
  if (next === undefined && rest.length === 0 && replacement === DELETE) delete copy[head];
  else copy[head] = next;
  return copy;
}

const DELETE = Symbol('delete');

/** Messages built from `schema`, half of them mutated: one node dropped, or swapped for any JSON value or a number. */
export function messages(schema: z.ZodType): fc.Arbitrary<unknown> {
  const base = fromSchema(schema);
  const mutated = fc
    .tuple(base, fc.nat(), fc.oneof(fc.constant<unknown>(DELETE), fc.jsonValue({ maxDepth: 2 }), hostileNumber, fc.uint8Array({ maxLength: 64 })))
    .map(([value, pick, replacement]) => {
      const all = paths(value);
      return replaced(value, all[pick % all.length], replacement);
    });
  return fc.oneof(base, mutated);
}
