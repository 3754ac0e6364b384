/**
 * A hospital in its own process, for simulations that run one process per
 * hospital: reads its HospitalConfig as JSON from the FEDXRAY_HOSPITAL_CONFIG
 * environment variable (or a file named by it), runs until the coordinator says
 * the run is over, and exits 0 (1 on a fatal refusal).
 */
import { readFileSync } from 'node:fs';
import { Hospital } from './session';

const raw = process.env.FEDXRAY_HOSPITAL_CONFIG;
if (!raw) {
  process.stderr.write('FEDXRAY_HOSPITAL_CONFIG is not set\n');
  process.exit(2);
}
const config = JSON.parse(raw.trim().startsWith('{') ? raw : readFileSync(raw, 'utf8'));
const hospital = await Hospital.start(config);
hospital.on('error', (err) => process.stderr.write(`hospital: ${err.message}\n`));
try {
  await hospital.done;
  process.exit(0);
} catch (err) {
  process.stderr.write(`hospital: ${err instanceof Error ? err.message : err}\n`);
  process.exit(1);
}
