import type dicomParser from 'dicom-parser';
import { DataError } from '../errors';

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * The bytes of the first frame of encapsulated pixel data, copied into memory of their own (a
 * codec handed `frame.buffer` then sees exactly the frame, never the file around it). Fragments
 * are assigned to frames the way gdcm does:
 * - one frame: all fragments;
 * - as many fragments as frames: one fragment per frame, whatever the basic offset table says
 *   (some writers get its offsets a few bytes wrong);
 * - otherwise the basic offset table, whose offsets must each fall on a fragment's start.
 */
export function firstFrame(ds: dicomParser.DataSet, el: dicomParser.Element, frames: number): Uint8Array {
  const fragments = el.fragments ?? [];
  if (fragments.length === 0) throw new DataError('encapsulated pixel data without fragments');
  const bytes = (f: dicomParser.Fragment) => {
    if (f.position + f.length > ds.byteArray.length) throw new DataError(`truncated DICOM pixel data (a fragment at byte ${f.position} needs ${f.length} bytes, the file has ${ds.byteArray.length})`);
    return ds.byteArray.subarray(f.position, f.position + f.length);
  };
  if (frames <= 1) return concat(fragments.map(bytes));
  if (fragments.length === frames) return concat([bytes(fragments[0])]);
  const table = el.basicOffsetTable ?? [];
  if (table.length < 2) {
    throw new DataError(`encapsulated pixel data with ${fragments.length} fragments for ${frames} frames and no basic offset table to tell them apart`);
  }
  const end = fragments.findIndex((f) => f.offset === table[1]);
  if (table[0] !== 0 || end <= 0) {
    throw new DataError(`encapsulated pixel data whose basic offset table (${table.slice(0, 3).join(', ')}, …) does not point at fragment starts (${fragments.slice(0, 3).map((f) => f.offset).join(', ')}, …)`);
  }
  return concat(fragments.slice(0, end).map(bytes));
}
