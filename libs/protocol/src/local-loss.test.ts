import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LOCAL_LOSS, LocalLossSchema, defaultLocalLoss, formatLocalLoss, parseLocalLoss } from './local-loss';

test('the flag form of a local loss: parsed with its defaults, written back, bad forms refused with the valid ones', () => {
  assert.deepEqual(parseLocalLoss('ce'), { name: 'ce' });
  assert.deepEqual(parseLocalLoss('logit-adjusted'), { name: 'logit-adjusted', tau: 1 });
  assert.deepEqual(parseLocalLoss('logit-adjusted:0.5'), { name: 'logit-adjusted', tau: 0.5 });
  assert.deepEqual(parseLocalLoss('restricted'), { name: 'restricted', scale: 0.5 });
  assert.deepEqual(parseLocalLoss('restricted:0'), { name: 'restricted', scale: 0 });
  for (const l of [DEFAULT_LOCAL_LOSS, parseLocalLoss('logit-adjusted:2'), parseLocalLoss('restricted:0.25')]) assert.deepEqual(parseLocalLoss(formatLocalLoss(l)), l);
  for (const bad of ['', 'CE', 'ce:0', 'logit-adjusted:11', 'logit-adjusted:-1', 'restricted:1.5', 'restricted:', 'restricted:a', 'restricted:0.5:1']) {
    assert.throws(() => parseLocalLoss(bad), /Expected the local loss to be ce, logit-adjusted\[:τ\] \(τ in \[0, 10\]\) or restricted\[:scale\] \(scale in \[0, 1\]\), but got/, bad);
  }
  assert.equal(LocalLossSchema.safeParse({ name: 'ce', tau: 1 }).success, false, 'an option of another loss is refused');
});

test('a run’s default loss: restricted softmax (0.5) with a softmax output, ce with sigmoid; a fit message without one means ce', () => {
  assert.deepEqual(defaultLocalLoss('softmax'), { name: 'restricted', scale: 0.5 });
  assert.deepEqual(defaultLocalLoss('sigmoid'), { name: 'ce' });
  assert.deepEqual(LocalLossSchema.parse(defaultLocalLoss('softmax')), defaultLocalLoss('softmax'));
  assert.deepEqual(DEFAULT_LOCAL_LOSS, { name: 'ce' });
});
