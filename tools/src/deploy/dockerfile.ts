/**
 * A small Dockerfile reader and linter, for checking deploy/*.Dockerfile in CI
 * where neither Docker nor hadolint can run: instructions, base-image pinning,
 * a non-root user, exec-form entry points, and that what the file copies and
 * runs exists.
 */

export interface Instruction {
  /** 1-based line of the instruction's first line. */
  line: number;
  keyword: string;
  /** Flags such as `--from=build`. */
  flags: Record<string, string>;
  /** The arguments after the flags, continuation lines joined (runs of white space made one space, outside exec form). */
  args: string;
  /** The arguments in exec (JSON array) form, when they are one. */
  exec?: string[];
}

export const KEYWORDS = new Set([
  'FROM', 'RUN', 'CMD', 'LABEL', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL',
]);

/** Splits a Dockerfile into instructions: comments dropped, `\` continuations joined. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (/^\s*(#|$)/.test(lines[i])) continue;
    const start = i;
    let body = lines[i];
    while (/\\\s*$/.test(body) && i + 1 < lines.length) {
      i++;
      if (/^\s*#/.test(lines[i])) continue;
      body = `${body.replace(/\\\s*$/, ' ')}${lines[i]}`;
    }
    const m = /^\s*(\S+)\s*(.*)$/.exec(body)!;
    let rest = m[2].trim();
    const flags: Record<string, string> = {};
    for (let f = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest); f; f = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest)) {
      flags[f[1]] = f[2] ?? '';
      rest = rest.slice(f[0].length);
    }
    let exec: string[] | undefined;
    if (rest.startsWith('[')) {
      try {
        const parsed = JSON.parse(rest);
        if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) exec = parsed;
      } catch {
        exec = undefined;
      }
    }
    out.push({ line: start + 1, keyword: m[1].toUpperCase(), flags, args: exec ? rest : rest.replace(/\s+/g, ' '), exec });
  }
  return out;
}

export interface Stage {
  name: string | null;
  image: string;
  from: Instruction;
  instructions: Instruction[];
}

export function stages(instructions: Instruction[]): Stage[] {
  const out: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const [image, as, name] = ins.args.split(/\s+/);
      out.push({ image, name: as?.toUpperCase() === 'AS' ? name : null, from: ins, instructions: [] });
    } else out[out.length - 1]?.instructions.push(ins);
  }
  return out;
}

/** Why an image reference is not pinned to an exact version, or null when it is. */
export function unpinned(image: string): string | null {
  if (image.includes('@sha256:')) return null;
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  if (!tag) return `${image} has no tag (it means :latest, which changes under you)`;
  if (tag === 'latest') return `${image} uses :latest`;
  if (!/\d+\.\d+\.\d+/.test(tag)) return `${image}'s tag ${tag} names no exact version (major.minor.patch)`;
  return null;
}

export interface LintProblem {
  line: number;
  message: string;
}

/**
 * The rules every deploy Dockerfile follows. `exists(path)` says whether a
 * path of the build context (the repository) exists.
 */
export function lintDockerfile(text: string, exists: (contextPath: string) => boolean): LintProblem[] {
  const problems: LintProblem[] = [];
  const all = parseDockerfile(text);
  for (const ins of all) if (!KEYWORDS.has(ins.keyword)) problems.push({ line: ins.line, message: `unknown instruction ${ins.keyword}` });
  const first = all.find((i) => i.keyword !== 'ARG');
  if (first?.keyword !== 'FROM') problems.push({ line: first?.line ?? 1, message: 'the first instruction (after ARGs) must be FROM' });
  const list = stages(all);
  const names = new Set<string>();
  for (const s of list) {
    if (!names.has(s.image)) {
      const why = unpinned(s.image);
      if (why) problems.push({ line: s.from.line, message: why });
    }
    for (const ins of s.instructions) {
      if ((ins.keyword === 'COPY' || ins.keyword === 'ADD') && ins.flags.from === undefined) {
        const parts = ins.exec ?? ins.args.split(/\s+/);
        for (const src of parts.slice(0, -1)) if (!exists(src)) problems.push({ line: ins.line, message: `${ins.keyword} source ${src} is not in the build context` });
      }
      if (ins.keyword === 'COPY' && ins.flags.from !== undefined && !names.has(ins.flags.from)) {
        const why = unpinned(ins.flags.from);
        if (why) problems.push({ line: ins.line, message: `COPY --from=${ins.flags.from}: not an earlier stage, and ${why}` });
      }
      if (ins.keyword === 'RUN') {
        for (const m of ins.args.matchAll(/(?:^|[\s;&|])node\s+((?:tools|apps|libs)\/\S+)/g)) if (!exists(m[1])) problems.push({ line: ins.line, message: `RUN runs ${m[1]}, which is not in the repository` });
      }
      if ((ins.keyword === 'ENTRYPOINT' || ins.keyword === 'CMD') && !ins.exec) problems.push({ line: ins.line, message: `${ins.keyword} in shell form: use the exec form ["…", "…"] so signals reach fedxray` });
    }
    if (s.name) names.add(s.name);
  }
  const last = list[list.length - 1];
  if (last) {
    const users = last.instructions.filter((i) => i.keyword === 'USER');
    const user = users[users.length - 1];
    const entry = last.instructions.findIndex((i) => i.keyword === 'ENTRYPOINT' || i.keyword === 'CMD');
    if (!user) problems.push({ line: last.from.line, message: 'the final stage never leaves root: add USER <a non-root user>' });
    else {
      const name = user.args.split(':')[0];
      if (name === 'root' || name === '0') problems.push({ line: user.line, message: 'the final stage runs as root' });
      if (entry >= 0 && last.instructions.indexOf(user) > entry) problems.push({ line: user.line, message: 'USER comes after ENTRYPOINT/CMD' });
      const created = /^\d+$/.test(name) || last.instructions.some((i) => i.keyword === 'RUN' && new RegExp(`(useradd|adduser)\\b[^&;]*\\b${name}\\b`).test(i.args));
      if (!created) problems.push({ line: user.line, message: `user ${name} is not created in the final stage (useradd/adduser) nor numeric` });
    }
    if (entry < 0) problems.push({ line: last.from.line, message: 'the final stage has no ENTRYPOINT or CMD' });
  }
  return problems;
}
