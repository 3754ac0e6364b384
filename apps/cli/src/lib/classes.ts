/**
 * How a folder's class folders meet a model's classes. Folders are matched to
 * classes by exact name; a folder the model does not know is a mismatch (its
 * images would be scored against a class the model never predicts), while a
 * class with no folder only leaves that class without support.
 */
export interface ClassMatch {
  /** Folder classes in the model's order. */
  matched: string[];
  /** Model classes with no folder here. */
  missing: string[];
  /** Folder classes the model does not have, each with a model class that differs only in case or punctuation, if any. */
  unknown: { folder: string; near?: string }[];
}

const fold = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');

export function matchClasses(folderClasses: readonly string[], modelClasses: readonly string[]): ClassMatch {
  const folders = new Set(folderClasses);
  const model = new Set(modelClasses);
  return {
    matched: modelClasses.filter((c) => folders.has(c)),
    missing: modelClasses.filter((c) => !folders.has(c)),
    unknown: folderClasses.filter((f) => !model.has(f)).map((folder) => ({ folder, near: modelClasses.find((c) => fold(c) === fold(folder)) })),
  };
}

/** Why the folders cannot be evaluated with this model, and what to do; null when they can. */
export function describeMismatch(m: ClassMatch, modelClasses: readonly string[], dir: string): string | null {
  if (m.unknown.length === 0) return null;
  const near = m.unknown.filter((u) => u.near);
  return (
    `The class folders of ${dir} do not match the model's classes (${modelClasses.join(', ')}): ` +
    `${m.unknown.map((u) => u.folder).join(', ')} ${m.unknown.length === 1 ? 'is' : 'are'} not among them. ` +
    (near.length > 0 ? `Rename ${near.map((u) => `${u.folder} → ${u.near}`).join(', ')} (folders are matched by exact name); ` : '') +
    `evaluate a folder whose class folders are all classes of the model (a subset is fine).`
  );
}
