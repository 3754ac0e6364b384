// The registered strategies: one line each. A new strategy is a file that
// exports a defineStrategy(...) (see fedavg.ts) plus one line here; its config
// schema, name, help text and traits then follow everywhere (config.ts).
import { fedadagradStrategy } from './fedadagrad';
import { fedadamStrategy } from './fedadam';
import { fedavgStrategy } from './fedavg';
import { fedavgmStrategy } from './fedavgm';
import { fedmedianStrategy } from './fedmedian';
import { fedproxStrategy } from './fedprox';
import { fedtrimmedavgStrategy } from './fedtrimmedavg';
import { fedyogiStrategy } from './fedyogi';
import { krumStrategy } from './krum';
import { multikrumStrategy } from './multikrum';

export const STRATEGIES = [
  fedavgStrategy,
  fedproxStrategy,
  fedavgmStrategy,
  fedadamStrategy,
  fedyogiStrategy,
  fedadagradStrategy,
  fedmedianStrategy,
  fedtrimmedavgStrategy,
  krumStrategy,
  multikrumStrategy,
] as const;
