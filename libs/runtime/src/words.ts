/** A count and its noun, singular for one: `1 class`, `2 classes`, `0 rounds`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
