// Test helper: third-party files that Debian packages install (.ci/run installs them). Not part of the public API.
import { existsSync } from 'node:fs';

export const PYDICOM_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
export const GDCM_EXAMPLE = '/usr/share/doc/libgdcm3.0/examples/00191113.dcm';
export const LIBSIXEL_IMAGES = '/usr/share/doc/libsixel-examples/examples/images';
export const X_IMAGE_TESTDATA = '/usr/share/gocode/src/golang.org/x/image/testdata';

/**
 * The `skip` option for a test that needs these files: false when they are all there, or in CI
 * (where their absence is a failure of .ci/run and the test must fail, not skip); else a message.
 */
export function needs(...paths: string[]): false | string {
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length === 0 || process.env.CI === 'true') return false;
  return `needs Debian's test files (python3-pydicom, libgdcm3.0, libsixel-examples, golang-golang-x-image-dev): missing ${missing.join(', ')}`;
}
