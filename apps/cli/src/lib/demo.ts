import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { bar, type Progress } from './progress';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Generates (or reuses) the embedded demo X-rays by running the generator in
 * tools/ as its own process: apps and tools do not import each other.
 */
export async function ensureDemoData(cacheDir: string, onLine: (line: string) => void): Promise<string> {
  const require = createRequire(import.meta.url);
  // A path, not an import: the generator runs as its own process.
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'tools', 'src', 'demo-data-cli.ts');
  const tsx = pathToFileURL(require.resolve('tsx')).href;
  return new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', tsx, script, '--out', cacheDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let last = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      for (const line of chunk.split('\n').filter(Boolean)) {
        last = line;
        onLine(line);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`demo data generator exited with code ${code}`));
      try {
        resolve(JSON.parse(last).out);
      } catch {
        reject(new Error(`demo data generator did not report where it wrote: ${last}`));
      }
    });
  });
}

/** Generates or reuses the demo data, showing progress; resolves to its folder. */
export async function demoDataWithProgress(cacheDir: string, p: Progress): Promise<string> {
  p.line(`Demo data: synthetic chest X-rays in ${cacheDir}`);
  return ensureDemoData(resolve(cacheDir), (line) => {
    try {
      const msg = JSON.parse(line);
      if (msg.progress) p.update(`  generating ${bar(msg.progress.done, msg.progress.total)} ${msg.progress.done}/${msg.progress.total}`);
      else if (msg.out) p.line(`  ${msg.reused ? 'reused' : 'generated'} ${Object.values(msg.counts as Record<string, number>).reduce((a, b) => a + b, 0)} images in ${relative(process.cwd(), msg.out) || '.'}`);
    } catch {
      p.line(line);
    }
  });
}

/** `runs/<prefix>-<UTC timestamp>`, absolute: where a command writes when no --out is given. */
export function defaultRunDir(prefix: string): string {
  return resolve(join('runs', `${prefix}-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}`));
}
