/** Where a Grad-CAM peak lies in the original image, and how `predict` words a heatmap. */

export interface Size {
  width: number;
  height: number;
}

/**
 * Maps a pixel of the model's square input back to the original image: `fill`
 * stretched the image to the square, `letterbox` scaled it to fit and centred
 * it on black (sharp's `contain`).
 */
export function inputToOriginal(p: { x: number; y: number }, inputSize: number, original: Size, resize: 'fill' | 'letterbox'): { x: number; y: number } {
  const clamp = (v: number, n: number) => Math.min(n - 1, Math.max(0, Math.floor(v)));
  if (resize === 'fill') {
    return { x: clamp(((p.x + 0.5) * original.width) / inputSize, original.width), y: clamp(((p.y + 0.5) * original.height) / inputSize, original.height) };
  }
  const scale = Math.min(inputSize / original.width, inputSize / original.height);
  const offX = (inputSize - original.width * scale) / 2;
  const offY = (inputSize - original.height * scale) / 2;
  return { x: clamp((p.x + 0.5 - offX) / scale, original.width), y: clamp((p.y + 0.5 - offY) / scale, original.height) };
}

const FLAT_WHY = {
  empty: 'empty: no region has positive evidence for this class, so nothing is coloured',
  uniform: 'uniform: the evidence is about the same everywhere, so it marks no region',
} as const;

/** One line about a heatmap for the console. */
export function describeHeatmap(r: { explained: string; file: string; flat: 'empty' | 'uniform' | null; peak: { x: number; y: number }; imageWidth: number; imageHeight: number }): string {
  if (r.flat) return `Grad-CAM for ${r.explained} is flat (${FLAT_WHY[r.flat]}); ${r.file} says so in its legend. Try --class with another class.`;
  return `Grad-CAM for ${r.explained}: peak at x ${r.peak.x}, y ${r.peak.y} of the ${r.imageWidth}×${r.imageHeight} image; ${r.file}`;
}
