import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Coordinator } from './coordinator';
import { config } from './testing';

/** Status and body length of a request (node's http: any method and header, the raw path as given). */
function call(url: string, path: string, method: string, headers: Record<string, string> = {}): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, headers }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
    });
    req.on('error', reject);
    req.end();
  });
}

// reliability: a URL with a bad %-escape, and HEAD where GET is refused | 400 for the bad escape (was 500); HEAD answers exactly what GET answers, without a body | no | HTTP 400 "bad %-escape in the URL path"
test('a bad %-escape is a 400, and HEAD gets the status GET gets', { timeout: 60_000 }, async () => {
  const dashboardDir = mkdtempSync(join(tmpdir(), 'fedxray-dash-'));
  writeFileSync(join(dashboardDir, 'index.html'), '<!doctype html><title>dashboard</title>');
  const c = await Coordinator.start(config({ rounds: 1, dashboardDir, dashboardToken: 'dashboard-token-0123456789' }));
  try {
    for (const path of ['/api/runs/%E0%A4%A', '/api/runs/%E0%A4%A/rounds', '/%E0%A4%A', '/assets/%ZZ.js']) {
      assert.equal((await call(c.url, path, 'GET')).status, 400, path);
    }
    const paths = ['/', '/index.html', '/api/state', '/api/health', '/api/runs/no-such-run', '/api/runs/%E0%A4%A', '/model/model.json', '/metrics', '/nope.js'];
    const callers: Record<string, string>[] = [{}, { origin: 'http://evil.example' }, { 'x-forwarded-for': '203.0.113.9' }];
    const seen = new Set<number>();
    for (const path of paths) {
      for (const headers of callers) {
        const get = await call(c.url, path, 'GET', headers);
        const head = await call(c.url, path, 'HEAD', headers);
        assert.equal(head.status, get.status, `HEAD ${path} ${JSON.stringify(headers)}`);
        assert.equal(head.bytes, 0);
        seen.add(get.status);
      }
    }
    assert.deepEqual([...seen].sort(), [200, 400, 401, 404], 'the paths cover allowed, bad, refused and missing');
    const post = await call(c.url, '/api/state', 'POST');
    assert.equal(post.status, 405);
  } finally {
    await c.stop();
  }
});
