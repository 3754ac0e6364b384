import { test } from 'node:test';
import assert from 'node:assert/strict';
import { privacySettings } from './privacy-options';

test('the privacy flags make the coordinator config sections, and incomplete combinations are refused with what to give', () => {
  assert.deepEqual(privacySettings({}), {});
  assert.deepEqual(privacySettings({ secureAggregation: true, secaggVariant: 'secagg+' }), { secureAggregation: { enabled: true, variant: 'secagg+' } });
  assert.deepEqual(privacySettings({ dpNoiseMultiplier: 1, dpClip: 1 }), { dp: { noiseMultiplier: 1, clip: 1 } });
  assert.deepEqual(privacySettings({ dpNoiseMultiplier: 0.8, dpAdaptiveClip: true, dpDelta: 1e-6, dpEpsilonBudget: 8 }), {
    dp: { noiseMultiplier: 0.8, clip: 1, adaptiveClip: true, delta: 1e-6, epsilonBudget: 8 },
  });
  assert.throws(() => privacySettings({ dpClip: 1 }), /The --dp-\* options need --dp-noise-multiplier <z>/);
  assert.throws(() => privacySettings({ dpNoiseMultiplier: 1 }), /give --dp-clip <C> or --dp-adaptive-clip/);
  assert.throws(() => privacySettings({ secaggVariant: 'secagg' }), /give it with --secure-aggregation/);
});
