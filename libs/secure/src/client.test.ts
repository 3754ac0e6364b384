import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SecAggClient } from './client';
import { neighbourMap } from './graph';
import { x25519FromPrivate } from './primitives';
import { SecAggServer } from './server';
import { setupMessage, type SecAggRoundConfig } from './round-config';
import { refused } from './testing';

const L = 4;
const cfg: SecAggRoundConfig = { session: 's', participants: [1, 2, 3, 4, 5], threshold: 3, graph: { kind: 'full' }, vectorLength: L };

/** Hospitals 1..5 taken to the point where each has the shares its neighbours relayed. */
function shared() {
  const server = new SecAggServer(cfg);
  const clients = cfg.participants.map((p) => new SecAggClient(server.setupFor(p)));
  for (const c of clients) server.receiveAdvertise(c.index, c.advertise());
  const keys = server.closeAdvertise();
  for (const c of clients) server.receiveShares(c.index, c.receivePublicKeys(keys.get(c.index)));
  return { server, clients, relayed: server.closeShares() };
}

/** …and further, to where each has sent its masked input; returns the honest unmask requests. */
function masked() {
  const { server, clients, relayed } = shared();
  for (const c of clients) {
    c.receiveShares(relayed.get(c.index));
    server.receiveMaskedInput(c.index, c.mask(new Uint32Array(L)));
  }
  return { server, clients, requests: server.closeCollection() };
}

test('A request for both secrets of one hospital is refused: that would unmask its input', () => {
  const { clients } = masked();
  const c = clients[0];
  refused(() => c.receiveUnmaskRequest({ session: 's', survivors: [1, 2, 3, 4, 5], dropped: [3] }), 'refused_request', /both secrets of participant\(s\) 3/);
  // Nothing was revealed, so an honest request is still answered, once.
  const answer = c.receiveUnmaskRequest({ session: 's', survivors: [1, 2, 3, 4], dropped: [5] });
  assert.deepEqual(
    answer.seedShares.map((s) => s.of),
    [1, 2, 3, 4],
  );
  assert.deepEqual(
    answer.keyShares.map((s) => s.of),
    [5],
  );
  // Asking again, now calling 3 dropped, would give the coordinator 3's mask key share too.
  refused(() => c.receiveUnmaskRequest({ session: 's', survivors: [1, 2, 4, 5], dropped: [3] }), 'refused_request', /already answered/);
});

test('Unmask requests that miscount the neighbourhood are refused', () => {
  const { clients } = masked();
  const c = clients[0];
  refused(() => c.receiveUnmaskRequest({ session: 's', survivors: [2, 3, 4, 5], dropped: [1] }), 'refused_request', /does not count participant 1/);
  refused(() => c.receiveUnmaskRequest({ session: 's', survivors: [1, 2, 3], dropped: [] }), 'refused_request', /cover exactly the neighbours that shared \[1, 2, 3, 4, 5\]/);
  refused(() => c.receiveUnmaskRequest({ session: 's', survivors: [1, 2, 3, 4, 5, 6], dropped: [] }), 'refused_request', /cover exactly/);
  refused(() => c.receiveUnmaskRequest({ session: 's', survivors: [1, 2], dropped: [3, 4, 5] }), 'refused_request', /names 2 survivors.*threshold is 3/);
  refused(() => c.receiveUnmaskRequest({ session: 's', survivors: [1, 1, 2, 3], dropped: [] }), 'duplicate');
  refused(() => c.receiveUnmaskRequest({ session: 'other', survivors: [1, 2, 3, 4, 5], dropped: [] }), 'bad_message', /session "other"/);
});

test('Out-of-stage calls are refused', () => {
  const server = new SecAggServer(cfg);
  const c = new SecAggClient(server.setupFor(1));
  refused(() => c.mask(new Uint32Array(L)), 'wrong_stage', /mask\(\) arrived in stage "new", expected "ready"/);
  refused(() => c.receiveUnmaskRequest({ session: 's', survivors: [1, 2, 3], dropped: [] }), 'wrong_stage');
  c.advertise();
  refused(() => c.advertise(), 'wrong_stage');
  refused(() => c.receiveShares({ session: 's', shares: [] }), 'wrong_stage', /expected "shared"/);
});

test('Keys of strangers, or a changed own key, are refused', () => {
  const sparse: SecAggRoundConfig = { ...cfg, participants: Array.from({ length: 18 }, (_, i) => i + 1), graph: { kind: 'sparse', degree: 4, seed: 'g' } };
  const near = neighbourMap(sparse.participants, sparse.graph).get(1)!;
  const stranger = sparse.participants.find((v) => v !== 1 && !near.includes(v))!;
  const keyOf = (index: number) => {
    const pub = x25519FromPrivate(new Uint8Array(32).fill(index)).publicRaw;
    return { index, maskKey: pub, shareKey: pub };
  };
  const c = new SecAggClient(setupMessage(sparse, 1));
  const own = c.advertise();
  const mine = { index: 1, maskKey: own.maskKey, shareKey: own.shareKey };
  refused(() => c.receivePublicKeys({ session: 's', keys: [mine, keyOf(near[0]), keyOf(stranger)] }), 'unknown_sender', new RegExp(`participant ${stranger}, not a neighbour of 1`));
  refused(() => c.receivePublicKeys({ session: 's', keys: [{ ...mine, maskKey: keyOf(2).maskKey }, ...near.map(keyOf)] }), 'bad_message', /own keys unchanged/);
  refused(() => c.receivePublicKeys({ session: 's', keys: [mine, keyOf(near[0])] }), 'too_few_survivors', /Only 2 .* threshold is 3/);
  assert.equal(c.receivePublicKeys({ session: 's', keys: [mine, ...near.map(keyOf)] }).shares.length, 4);
});

test('A tampered or misdirected sealed share is refused', () => {
  const { clients, relayed } = shared();
  const toOne = relayed.get(1)!;
  const tampered = structuredClone(toOne);
  tampered.shares[0].sealed[40] ^= 1;
  refused(() => clients[0].receiveShares(tampered), 'decrypt_failed');
  // The box 2 sent to 3, relayed to 1 as if from 2: the associated data names the pair, so it does not open.
  const misdirected = structuredClone(toOne);
  misdirected.shares[0] = { from: 2, sealed: relayed.get(3)!.shares.find((s) => s.from === 2)!.sealed };
  refused(() => clients[0].receiveShares(misdirected), 'decrypt_failed');
  refused(() => clients[0].receiveShares({ session: 's', shares: toOne.shares.slice(0, 1) }), 'too_few_survivors', /Only 2/);
  clients[0].receiveShares(toOne);
  refused(() => clients[0].mask(new Uint32Array(L + 1)), 'wrong_length', /4 uint32 words, got 5/);
});

test('A setup that is malformed or not for a participant is refused', () => {
  refused(() => new SecAggClient({ session: 's' }), 'bad_message', /Malformed secure-aggregation setup/);
  refused(() => new SecAggClient({ ...cfg, index: 9 }), 'bad_message', /participant 9, who is not among/);
  refused(() => new SecAggClient({ ...cfg, index: 1, threshold: 2 }), 'bad_config', /threshold in 3\.\.5/);
});
