import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Debian's python, which has python3-pydicom, python3-gdcm, python3-numpy and python3-pil. */
export const PYTHON = '/usr/bin/python3';
/** The script that computes the reference pixels. */
export const REFERENCE_SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'reference_pixels.py');

export interface CorpusFile {
  corpus: string;
  /** Path inside the corpus folder: the name the tables and the refusal list use. */
  name: string;
  path: string;
  kind: 'dicom' | 'raster';
}

/** A folder of other people's test images that a Debian package installs. */
export interface Corpus {
  id: string;
  title: string;
  debianPackage: string;
  kind: 'dicom' | 'raster';
  root: string;
  files: CorpusFile[];
}

const RASTER = /\.(png|jpe?g|bmp|tiff?|webp)$/i;
const NOT_DICOM = /\.(json|txt|dump|gz)$|(^|\/)README/i;

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
}

/** Where this machine's pydicom keeps its test files, asked of pydicom itself; null without it. */
function pydicomTestFiles(): string | null {
  if (!existsSync(PYTHON)) return null;
  const r = spawnSync(PYTHON, [REFERENCE_SCRIPT, '--where'], { encoding: 'utf8' });
  const dir = r.status === 0 ? r.stdout.trim() : '';
  return dir && existsSync(dir) ? dir : null;
}

function corpus(id: string, title: string, debianPackage: string, kind: 'dicom' | 'raster', root: string | null, keep: (name: string) => boolean): Corpus | string {
  if (!root || !existsSync(root)) return `${title} (Debian package ${debianPackage})`;
  const files = walk(root)
    .map((path) => ({ corpus: id, name: relative(root, path), path, kind }))
    .filter((f) => keep(f.name));
  return { id, title, debianPackage, kind, root, files };
}

/**
 * The corpora of the conformance suite: pydicom's test files and gdcm's example (DICOM, compared
 * with pydicom + gdcm), PngSuite with libsixel's sample images and Go's x/image test images
 * (PNG, JPEG, BMP, TIFF, WebP, compared with Pillow). Returns what this machine has, and a line
 * for each corpus it lacks.
 */
export function locateCorpora(): { corpora: Corpus[]; missing: string[] } {
  const found = [
    corpus('pydicom', "pydicom's test files", 'python3-pydicom', 'dicom', pydicomTestFiles(), (n) => !NOT_DICOM.test(n)),
    corpus('gdcm', "gdcm's example", 'libgdcm3.0', 'dicom', '/usr/share/doc/libgdcm3.0/examples', (n) => n.endsWith('.dcm')),
    corpus('libsixel', 'PngSuite and sample images of libsixel', 'libsixel-examples', 'raster', '/usr/share/doc/libsixel-examples/examples/images', (n) => RASTER.test(n)),
    corpus('x-image', "Go's golang.org/x/image test images", 'golang-golang-x-image-dev', 'raster', '/usr/share/gocode/src/golang.org/x/image/testdata', (n) => RASTER.test(n)),
  ];
  return { corpora: found.filter((c): c is Corpus => typeof c !== 'string'), missing: found.filter((c): c is string => typeof c === 'string') };
}
