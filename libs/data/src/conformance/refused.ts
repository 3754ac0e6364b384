/** A file of a reference corpus that fedxray refuses on purpose. */
export interface Refusal {
  corpus: string;
  name: string;
  /** What fedxray's reason must say (so a refusal for another reason fails the suite). */
  reason: RegExp;
  /** Why refusing is right. */
  why: string;
}

const pngSuite = (file: string, reason: RegExp, what: string): Refusal => ({
  corpus: 'libsixel',
  name: `pngsuite/corrupted/${file}`,
  reason,
  why: `PngSuite's corrupted file: ${what}; Pillow refuses it too`,
});

/**
 * Every image-bearing file of the corpora that fedxray refuses, with the reason. The suite fails
 * when a file not listed here is refused, and when a file listed here starts decoding, so the
 * list stays true. Files without Pixel Data are not images and need no entry.
 */
export const REFUSED: readonly Refusal[] = [
  {
    corpus: 'pydicom',
    name: 'JPEG2000-embedded-sequence-delimiter.dcm',
    reason: /JPEG 2000 frame is 0×0/,
    why: 'four bytes of its JPEG 2000 header were overwritten on purpose (pydicom README: "almost certainly not a valid JPEG anymore"); gdcm returns uninitialised memory for it',
  },
  { corpus: 'pydicom', name: 'MR_truncated.dcm', reason: /truncated/, why: 'truncated: its Pixel Data holds 8130 of 8192 bytes; pydicom refuses it too' },
  { corpus: 'pydicom', name: 'meta_missing_tsyntax.dcm', reason: /without a transfer syntax/, why: 'its meta header has no Transfer Syntax UID, so its bytes cannot be read; pydicom refuses it too' },
  { corpus: 'pydicom', name: 'nested_priv_SQ.dcm', reason: /corrupt/, why: 'no Rows, Columns or Bits Allocated: Pixel Data that is not an image; pydicom refuses it too' },
  pngSuite('xc1n0g08.png', /colour type 1 is not allowed/, 'colour type 1'),
  pngSuite('xc9n2c08.png', /colour type 9 is not allowed/, 'colour type 9'),
  pngSuite('xcrn0g04.png', /not an image/, 'its signature has a CR byte added'),
  pngSuite('xd0n2c08.png', /bit depth 0/, 'bit depth 0'),
  pngSuite('xd3n2c08.png', /bit depth 3/, 'bit depth 3'),
  pngSuite('xd9n2c08.png', /bit depth 99/, 'bit depth 99'),
  pngSuite('xdtn0g01.png', /no IDAT chunk/, 'no IDAT chunk'),
  pngSuite('xhdn0g08.png', /IHDR .* fails its CRC check/, 'IHDR fails its CRC check'),
  pngSuite('xlfn0g04.png', /not an image/, 'its signature has an LF byte added'),
  pngSuite('xs1n0g01.png', /not an image/, 'signature byte 1 with its top bit cleared'),
  pngSuite('xs2n0g01.png', /not an image/, "signature byte 2 is a 'Q'"),
  pngSuite('xs4n0g01.png', /not an image/, 'signature byte 4 in lower case'),
  pngSuite('xs7n0g01.png', /not an image/, 'signature byte 7 is a space instead of control-Z'),
];
