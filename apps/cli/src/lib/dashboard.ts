import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built dashboard (apps/dashboard/dist), if it has been built. */
export function dashboardDir(): string | undefined {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dashboard', 'dist');
  return existsSync(join(dir, 'index.html')) ? dir : undefined;
}
