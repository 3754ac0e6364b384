import type { HospitalRegistry } from './registry';

/**
 * Finds connected hospitals whose credential was revoked or rotated since they
 * connected, whether through this process's registry or by another process
 * (`fedxray coordinator remove-hospital` writing the same database while the
 * coordinator runs). Each call to `retired` costs one `PRAGMA data_version`
 * unless something changed.
 */
export class CredentialWatch {
  private version: number;
  private dirty = false;

  constructor(private readonly registry: HospitalRegistry) {
    this.version = registry.storeVersion();
    registry.changes.on('change', () => {
      this.dirty = true;
    });
  }

  /** Of `connected` (name → credential it was accepted with), those whose credential is no longer active, with why. */
  retired(connected: Iterable<{ name: string; credential: string }>): { name: string; reason: 'revoked' | 'rotated' }[] {
    const version = this.registry.storeVersion();
    if (!this.dirty && version === this.version) return [];
    this.dirty = false;
    this.version = version;
    const out: { name: string; reason: 'revoked' | 'rotated' }[] = [];
    for (const c of connected) {
      const state = this.registry.credentialState(c.credential);
      if (state !== 'active') out.push({ name: c.name, reason: state });
    }
    return out;
  }
}
