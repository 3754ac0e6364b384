/**
 * A 5×7 pixel font for the legend of heatmap overlays: drawn straight into an
 * RGB buffer, so a hospital server with no fonts installed writes the same
 * image as any other machine. Upper case, digits and a little punctuation;
 * lower case is drawn upper case, anything else as '?'.
 */
const GLYPHS: Record<string, string> = {
  A: '.###.|#...#|#...#|#####|#...#|#...#|#...#',
  B: '####.|#...#|#...#|####.|#...#|#...#|####.',
  C: '.###.|#...#|#....|#....|#....|#...#|.###.',
  D: '####.|#...#|#...#|#...#|#...#|#...#|####.',
  E: '#####|#....|#....|####.|#....|#....|#####',
  F: '#####|#....|#....|####.|#....|#....|#....',
  G: '.###.|#...#|#....|#.###|#...#|#...#|.####',
  H: '#...#|#...#|#...#|#####|#...#|#...#|#...#',
  I: '.###.|..#..|..#..|..#..|..#..|..#..|.###.',
  J: '..###|...#.|...#.|...#.|...#.|#..#.|.##..',
  K: '#...#|#..#.|#.#..|##...|#.#..|#..#.|#...#',
  L: '#....|#....|#....|#....|#....|#....|#####',
  M: '#...#|##.##|#.#.#|#.#.#|#...#|#...#|#...#',
  N: '#...#|#...#|##..#|#.#.#|#..##|#...#|#...#',
  O: '.###.|#...#|#...#|#...#|#...#|#...#|.###.',
  P: '####.|#...#|#...#|####.|#....|#....|#....',
  Q: '.###.|#...#|#...#|#...#|#.#.#|#..#.|.##.#',
  R: '####.|#...#|#...#|####.|#.#..|#..#.|#...#',
  S: '.####|#....|#....|.###.|....#|....#|####.',
  T: '#####|..#..|..#..|..#..|..#..|..#..|..#..',
  U: '#...#|#...#|#...#|#...#|#...#|#...#|.###.',
  V: '#...#|#...#|#...#|#...#|#...#|.#.#.|..#..',
  W: '#...#|#...#|#...#|#.#.#|#.#.#|#.#.#|.#.#.',
  X: '#...#|#...#|.#.#.|..#..|.#.#.|#...#|#...#',
  Y: '#...#|#...#|.#.#.|..#..|..#..|..#..|..#..',
  Z: '#####|....#|...#.|..#..|.#...|#....|#####',
  '0': '.###.|#...#|#..##|#.#.#|##..#|#...#|.###.',
  '1': '..#..|.##..|..#..|..#..|..#..|..#..|.###.',
  '2': '.###.|#...#|....#|...#.|..#..|.#...|#####',
  '3': '####.|....#|....#|.###.|....#|....#|####.',
  '4': '...#.|..##.|.#.#.|#..#.|#####|...#.|...#.',
  '5': '#####|#....|####.|....#|....#|#...#|.###.',
  '6': '..##.|.#...|#....|####.|#...#|#...#|.###.',
  '7': '#####|....#|...#.|..#..|.#...|.#...|.#...',
  '8': '.###.|#...#|#...#|.###.|#...#|#...#|.###.',
  '9': '.###.|#...#|#...#|.####|....#|...#.|.##..',
  ' ': '.....|.....|.....|.....|.....|.....|.....',
  '.': '.....|.....|.....|.....|.....|.##..|.##..',
  ',': '.....|.....|.....|.....|.##..|..#..|.#...',
  ':': '.....|.##..|.##..|.....|.##..|.##..|.....',
  '(': '...#.|..#..|.#...|.#...|.#...|..#..|...#.',
  ')': '.#...|..#..|...#.|...#.|...#.|..#..|.#...',
  '=': '.....|.....|#####|.....|#####|.....|.....',
  '-': '.....|.....|.....|#####|.....|.....|.....',
  '+': '.....|..#..|..#..|#####|..#..|..#..|.....',
  '/': '....#|...#.|...#.|..#..|.#...|.#...|#....',
  '%': '##..#|##..#|...#.|..#..|.#...|#..##|#..##',
  _: '.....|.....|.....|.....|.....|.....|#####',
  '>': '.#...|..#..|...#.|....#|...#.|..#..|.#...',
  '?': '.###.|#...#|....#|...#.|..#..|.....|..#..',
  "'": '..#..|..#..|.#...|.....|.....|.....|.....',
};

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 7;
/** Horizontal distance from one character to the next, in font pixels. */
export const ADVANCE = GLYPH_WIDTH + 1;

const ROWS = new Map(Object.entries(GLYPHS).map(([c, g]) => [c, g.split('|')]));

export interface RgbCanvas {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Characters of `text` that fit in `pixels` at `scale`. */
export function fitText(text: string, pixels: number, scale: number): string {
  return text.slice(0, Math.max(0, Math.floor((pixels + scale) / (ADVANCE * scale))));
}

/** Draws `text` with its top-left corner at (x, y), each font pixel a `scale`×`scale` square; clipped to the canvas. */
export function drawText(canvas: RgbCanvas, text: string, x: number, y: number, scale: number, rgb: readonly [number, number, number]): void {
  let cx = x;
  for (const ch of text.toUpperCase()) {
    const rows = ROWS.get(ch) ?? ROWS.get('?')!;
    for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (rows[gy][gx] !== '#') continue;
        fillRect(canvas, cx + gx * scale, y + gy * scale, scale, scale, rgb);
      }
    }
    cx += ADVANCE * scale;
  }
}

export function fillRect(canvas: RgbCanvas, x: number, y: number, w: number, h: number, rgb: readonly [number, number, number]): void {
  for (let py = Math.max(0, y); py < Math.min(canvas.height, y + h); py++) {
    for (let px = Math.max(0, x); px < Math.min(canvas.width, x + w); px++) {
      const i = (py * canvas.width + px) * 3;
      canvas.data[i] = rgb[0];
      canvas.data[i + 1] = rgb[1];
      canvas.data[i + 2] = rgb[2];
    }
  }
}
