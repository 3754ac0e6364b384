// `fedxray bench aggregate --secure`: the secure-aggregation costs of the same
// round (libs/secure's benchSecureAggregation), as lines beside the plain figures.
import type { SecureBenchReport } from '@fedxray/secure';

const t = (x: { wallMs: number; cpuMs: number }) => `${x.wallMs.toFixed(0)} ms (${x.cpuMs.toFixed(0)} ms CPU)`;

/** Runs the secure sums for `hospitals` DenseNet121-sized updates. */
export async function secureFigures(hospitals: number): Promise<SecureBenchReport> {
  const { benchSecureAggregation } = await import('@fedxray/secure');
  return benchSecureAggregation({ hospitals });
}

/** The report in lines, against the plain aggregation's time and bytes. */
export function secureLines(s: SecureBenchReport, plainMs: number): string[] {
  return [
    `secure aggregation (${s.graph}, threshold ${s.threshold} of ${s.hospitals}), same update size${s.exact ? ', sums exact' : ', SUMS NOT EXACT'}:`,
    `  a hospital: quantise ${t(s.quantise)}, mask ${t(s.mask)} (goal: quantise + mask ≤ 1 s)`,
    `  coordinator unmasking: ${t(s.unmask.noDropout)} with no dropout, ${t(s.unmask.oneDropout)} with one dropout (goal ≤ 3 s); plain aggregation above: ${plainMs.toFixed(0)} ms`,
    `  bytes per hospital: masked input ${s.bytes.maskedInput.toLocaleString('en-US')} vs plain float32 ${s.bytes.plainFloat32.toLocaleString('en-US')} (${s.bytes.ratio.toFixed(6)}×, goal ≤ 1.05×) + keys and shares ${s.bytes.keysAndShares.toLocaleString('en-US')}`,
  ];
}
