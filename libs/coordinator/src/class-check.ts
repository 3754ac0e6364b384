// Which hospitals' classes a run accepts: any subset of its own (class indices
// follow the run's order, so a hospital without tuberculosis is the normal
// non-IID case), refusing only classes the run does not know, and hospitals
// with fewer classes than the run asks for.
import { plural } from '@fedxray/runtime';

/** Why a hospital declaring `hospitalClasses` may not join a run of `runClasses`, or null when it may. */
export function refuseHospitalClasses(hospital: string, runClasses: readonly string[], hospitalClasses: readonly string[], minClasses: number): string | null {
  const known = new Set(runClasses);
  const unknown = hospitalClasses.filter((c) => !known.has(c));
  const run = `[${runClasses.join(', ')}]`;
  if (unknown.length > 0) {
    return (
      `This run classifies ${run}, but hospital ${hospital} has ${plural(unknown.length, 'class', 'classes')} it does not know: ${unknown.join(', ')}. ` +
      'Rename those folders to the run’s class names, or name the run’s classes with fedxray hospital --classes and move the others out'
    );
  }
  const distinct = new Set(hospitalClasses).size;
  if (distinct < minClasses) {
    return (
      `This run asks each hospital for images of at least ${plural(minClasses, 'class', 'classes')} (minHospitalClasses), ` +
      `but hospital ${hospital} has ${plural(distinct, 'class', 'classes')}: ${hospitalClasses.join(', ')}`
    );
  }
  return null;
}
