import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SecAggClient } from './client';
import { SecAggServer } from './server';
import type { SecAggRoundConfig } from './round-config';
import { refused } from './testing';

const L = 8;
const cfg: SecAggRoundConfig = { session: 's', participants: [1, 2, 3, 4], threshold: 3, graph: { kind: 'full' }, vectorLength: L };

/** A round driven by hand: the coordinator and four hospitals, advanced stage by stage. */
function round() {
  const server = new SecAggServer(cfg);
  const clients = cfg.participants.map((p) => new SecAggClient(server.setupFor(p)));
  const advertise = () => {
    for (const c of clients) server.receiveAdvertise(c.index, c.advertise());
    return server.closeAdvertise();
  };
  const share = () => {
    const keys = advertise();
    const sent = clients.map((c) => c.receivePublicKeys(keys.get(c.index)));
    sent.forEach((m, i) => server.receiveShares(clients[i].index, m));
    return { relayed: server.closeShares(), sent };
  };
  const collect = () => {
    const { relayed } = share();
    const masked = clients.map((c) => {
      c.receiveShares(relayed.get(c.index));
      return c.mask(new Uint32Array(L).fill(c.index));
    });
    return masked;
  };
  return { server, clients, advertise, share, collect };
}

test('Malformed messages are refused with what was expected', () => {
  const { server, clients } = round();
  refused(() => server.receiveAdvertise(1, { session: 's', from: 1, maskKey: new Uint8Array(31), shareKey: new Uint8Array(32) }), 'bad_message', /maskKey: Expected 32 bytes/);
  refused(() => server.receiveAdvertise(1, null), 'bad_message', /Malformed advertised keys/);
  refused(() => server.receiveAdvertise(1, { ...clients[0].advertise(), session: 'other' }), 'bad_message', /session "other", expected "s"/);
});

test('A sender must be a participant and be who it says', () => {
  const { server, clients } = round();
  const msg = clients[0].advertise();
  refused(() => server.receiveAdvertise(9, msg), 'unknown_sender', /Participant 9 is not among \[1, 2, 3, 4\]/);
  refused(() => server.receiveAdvertise(2, msg), 'bad_message', /from participant 2 claims to be from 1/);
  refused(() => server.setupFor(5), 'unknown_sender');
});

test('Duplicated messages are refused and the first one stands', () => {
  const { server, clients } = round();
  const first = clients[0].advertise();
  server.receiveAdvertise(1, first);
  refused(() => server.receiveAdvertise(1, { ...first, maskKey: new Uint8Array(32).fill(9) }), 'duplicate', /already advertised/);
  for (const c of clients.slice(1)) server.receiveAdvertise(c.index, c.advertise());
  const mine = server.closeAdvertise().get(2)!.keys.find((k) => k.index === 1)!;
  assert.deepEqual(mine.maskKey, first.maskKey);
});

test('Out-of-stage messages are refused', () => {
  const { server, clients, collect } = round();
  refused(() => server.receiveMaskedInput(1, { session: 's', from: 1, masked: new Uint8Array(L * 4) }), 'wrong_stage', /Masked input from participant 1 arrived in stage "advertise", expected "collect"/);
  refused(() => server.closeShares(), 'wrong_stage');
  refused(() => server.finish(), 'wrong_stage');
  const masked = collect();
  refused(() => server.receiveAdvertise(1, clients[0]), 'wrong_stage');
  masked.forEach((m, i) => server.receiveMaskedInput(clients[i].index, m));
  server.closeCollection();
  refused(() => server.receiveMaskedInput(1, masked[0]), 'wrong_stage', /stage "unmask", expected "collect"/);
});

test('A masked input of the wrong length is refused', () => {
  const { server, collect } = round();
  collect();
  refused(() => server.receiveMaskedInput(1, { session: 's', from: 1, masked: new Uint8Array(L * 4 - 4) }), 'wrong_length', /32 bytes \(8 words\), got 28/);
  refused(() => server.receiveMaskedInput(1, { session: 's', from: 1, masked: [1, 2, 3] }), 'bad_message', /masked: Expected binary data/);
});

test('Shares must go to exactly the neighbours that advertised keys', () => {
  const { server, clients, advertise } = round();
  const keys = advertise();
  const msg = clients[0].receivePublicKeys(keys.get(1));
  refused(() => server.receiveShares(1, { ...msg, shares: msg.shares.slice(1) }), 'bad_message', /one box to each of \[2, 3, 4\]/);
  refused(() => server.receiveShares(1, { ...msg, shares: [...msg.shares.slice(1), { ...msg.shares[1] }] }), 'duplicate');
  server.receiveShares(1, msg);
  refused(() => server.receiveShares(1, msg), 'duplicate', /already sent its shares/);
});

test('A participant that never advertised cannot join later stages', () => {
  const { server, clients } = round();
  for (const c of clients.slice(0, 3)) server.receiveAdvertise(c.index, c.advertise());
  const keys = server.closeAdvertise();
  assert.equal(keys.has(4), false);
  const msg = clients[0].receivePublicKeys(keys.get(1));
  refused(() => server.receiveShares(4, { ...msg, from: 4 }), 'unknown_sender', /not given keys/);
});

test('An unmask answer must hold exactly the shares asked for', () => {
  const { server, clients, collect } = round();
  const masked = collect();
  masked.slice(0, 3).forEach((m, i) => server.receiveMaskedInput(clients[i].index, m));
  const requests = server.closeCollection();
  assert.deepEqual(requests.get(1), { session: 's', survivors: [1, 2, 3], dropped: [4] });
  const answer = clients[0].receiveUnmaskRequest(requests.get(1));
  refused(() => server.receiveUnmaskResponse(1, { ...answer, keyShares: [] }), 'bad_message', /seed shares of \[1,2,3\] and key shares of \[4\]/);
  refused(() => server.receiveUnmaskResponse(4, { ...answer, from: 4 }), 'unknown_sender', /not a survivor/);
  server.receiveUnmaskResponse(1, answer);
  refused(() => server.receiveUnmaskResponse(1, answer), 'duplicate');
  assert.equal(server.canFinish(), false);
  for (const c of clients.slice(1, 3)) server.receiveUnmaskResponse(c.index, c.receiveUnmaskRequest(requests.get(c.index)));
  assert.equal(server.canFinish(), true);
  assert.deepEqual([...server.finish().sum], new Array(L).fill(1 + 2 + 3));
});

test('A wrong share is caught by the seed commitment instead of giving a wrong sum', () => {
  const { server, clients, collect } = round();
  collect().forEach((m, i) => server.receiveMaskedInput(clients[i].index, m));
  const requests = server.closeCollection();
  clients.forEach((c, i) => {
    const answer = c.receiveUnmaskRequest(requests.get(c.index));
    if (i === 0) answer.seedShares[1].share[32] ^= 1;
    server.receiveUnmaskResponse(c.index, answer);
  });
  refused(() => server.finish(), 'bad_share', /Participant 2's self-mask seed.*does not match its commitment/);
  assert.equal(server.stage, 'failed');
});

test('Bad round parameters are refused, listing the valid range', () => {
  refused(() => new SecAggServer({ ...cfg, threshold: 2 }), 'bad_config', /threshold in 3\.\.4/);
  refused(() => new SecAggServer({ ...cfg, threshold: 5 }), 'bad_config', /threshold in 3\.\.4/);
  refused(() => new SecAggServer({ ...cfg, participants: [1, 2, 2, 4] }), 'bad_config', /distinct/);
  refused(() => new SecAggServer({ ...cfg, vectorLength: 0 }), 'bad_config', /vectorLength/);
  refused(() => new SecAggServer({ ...cfg, participants: [1, 2, 3, 4, 5, 6], graph: { kind: 'sparse', degree: 3, seed: 'x' } }), 'bad_config', /even sparse-graph degree in 2\.\.4/);
});

test('An aborted round refuses everything after, and says why', () => {
  const { server, clients } = round();
  server.abort('the coordinator stopped the run');
  assert.equal(server.stage, 'failed');
  assert.equal(server.failure, 'the coordinator stopped the run');
  refused(() => server.receiveAdvertise(1, clients[0].advertise()), 'wrong_stage', /stage "failed"/);
  refused(() => server.closeAdvertise(), 'wrong_stage');
});
