import { test } from 'node:test';
import assert from 'node:assert/strict';
import { io as connect } from 'socket.io-client';
import { PROTOCOL_VERSION, type Ack, type Welcome } from '@fedxray/protocol';
import { refuseHospitalClasses } from './class-check';
import { Coordinator } from './coordinator';
import { createLogger } from './log';
import { CLASSES, TOKENS, config } from './testing';

const RUN = ['covid19', 'normal', 'pneumonia', 'tuberculosis'];

test('a subset of the run’s classes may join, in any order; unknown classes are named; too few are refused when the run asks', () => {
  assert.equal(refuseHospitalClasses('h2', RUN, ['covid19', 'normal', 'pneumonia'], 1), null);
  assert.equal(refuseHospitalClasses('h2', RUN, ['pneumonia', 'normal'], 2), null);
  assert.equal(refuseHospitalClasses('h2', RUN, ['normal'], 1), null);
  assert.equal(
    refuseHospitalClasses('h2', RUN, ['normal', 'TB', 'viral'], 1),
    'This run classifies [covid19, normal, pneumonia, tuberculosis], but hospital h2 has 2 classes it does not know: TB, viral. ' +
      'Rename those folders to the run’s class names, or name the run’s classes with fedxray hospital --classes and move the others out',
  );
  assert.equal(
    refuseHospitalClasses('h3', RUN, ['normal'], 2),
    'This run asks each hospital for images of at least 2 classes (minHospitalClasses), but hospital h3 has 1 class: normal',
  );
});

/** A hospital that says hello with `classes` over a real socket: the acknowledgement, and the welcome if one came. */
async function hello(url: string, token: string, classes: string[]): Promise<{ ack: Ack; welcome: Welcome | null }> {
  const s = connect(url, { transports: ['websocket'], auth: { token, protocolVersion: PROTOCOL_VERSION }, reconnection: false });
  try {
    await new Promise<void>((r) => s.once('connect', () => r()));
    let welcome: Welcome | null = null;
    s.on('welcome', (w: Welcome) => (welcome = w));
    const ack = (await s.emitWithAck('hello', { software: 'test', backend: 'none', classes, examples: { train: 4, val: 1, test: 1 } })) as Ack;
    if (ack.ok) await new Promise<void>((r) => (welcome ? r() : s.once('welcome', () => r())));
    return { ack, welcome };
  } finally {
    s.disconnect();
  }
}

test('over loopback: a hospital lacking classes and a one-class hospital join and are welcomed with the run’s class order; a foreign class is refused', { timeout: 60_000 }, async () => {
  const lines: string[] = [];
  const c = await Coordinator.start(config({ rounds: 1, minAvailable: 3, minFit: 3 }), { logger: createLogger('pretty', (l) => lines.push(l)) });
  try {
    const subset = await hello(c.url, TOKENS.good, ['c', 'a']);
    assert.deepEqual(subset.ack, { ok: true });
    assert.deepEqual(subset.welcome?.classes, CLASSES, 'labels follow the run’s order');
    const one = await hello(c.url, TOKENS.bad, ['b']);
    assert.deepEqual(one.ack, { ok: true });
    const foreign = await hello(c.url, TOKENS.other, ['a', 'x']);
    assert.equal(foreign.ack.ok, false);
    assert.match(!foreign.ack.ok ? foreign.ack.error.message : '', /hospital other has 1 class it does not know: x\./);
    assert.equal(foreign.welcome, null);
    assert.ok(
      lines.some((l) => l.startsWith('[warn] hospital refused hospital=other reason=This run classifies [a, b, c], but hospital other has 1 class it does not know: x.')),
      lines.join(''),
    );
  } finally {
    await c.stop();
  }
});

test('over loopback: with minHospitalClasses 2 a one-class hospital is refused and told why', { timeout: 60_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 1, minHospitalClasses: 2 }));
  try {
    const one = await hello(c.url, TOKENS.good, ['b']);
    assert.equal(one.ack.ok, false);
    assert.match(!one.ack.ok ? one.ack.error.message : '', /at least 2 classes \(minHospitalClasses\), but hospital good has 1 class: b$/);
    assert.deepEqual((await hello(c.url, TOKENS.bad, ['a', 'b'])).ack, { ok: true });
  } finally {
    await c.stop();
  }
});
