/** Claims an item of the range in `control[word]` (next in the low 16 bits, end in the high 16 bits): its first (`front`) or its last; -1 if the range is empty. */
export function claim(control: Int32Array, word: number, front: boolean): number;
