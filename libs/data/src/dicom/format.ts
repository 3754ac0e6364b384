import { resizeNative } from '../formats/resize';
import type { FormatModule, NativeImage } from '../formats/types';
import { dicomLayout } from './layout';
import { readDicom } from './read';

async function decodeNative(bytes: Uint8Array): Promise<NativeImage> {
  const d = await readDicom(bytes);
  // Windowed values are continuous: they go into the resize with 16 bits.
  return { width: d.width, height: d.height, channels: d.channels, data: d.data, bitDepth: 16 };
}

export const dicom: FormatModule = {
  name: 'dicom',
  label: 'DICOM',
  sniff: (head) => dicomLayout(head) !== null,
  async probe(bytes) {
    const d = await readDicom(bytes);
    return { width: d.width, height: d.height, bitDepth: d.bitsStored, channels: d.channels };
  },
  async decode(bytes, target) {
    const img = await decodeNative(bytes);
    return target ? resizeNative(img, target) : img;
  },
};
