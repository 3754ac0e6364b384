/**
 * Checks the `fedxray …` commands written in Markdown against the program's
 * own commander definitions: every subcommand must exist and every flag must
 * be one that command accepts. Docs can then not drift from the CLI unnoticed.
 */
import type { Command, Option } from 'commander';

export interface DocCommand {
  file: string;
  line: number;
  text: string;
}

/** Each `fedxray …` / `npx fedxray …` command in a Markdown text: in code blocks (continued lines joined) and in inline code. */
export function extractCommands(markdown: string, file: string): DocCommand[] {
  const out: DocCommand[] = [];
  const lines = markdown.split('\n');
  let fence: string | null = null;
  // Prose is read a paragraph at a time: an inline code span may run over a line break.
  let paragraph: { start: number; text: string } | null = null;
  const endParagraph = () => {
    if (!paragraph) return;
    for (const m of paragraph.text.matchAll(/`([^`]+)`/g)) {
      const line = paragraph.start + paragraph.text.slice(0, m.index).split('\n').length;
      for (const part of shellCommands(m[1].replace(/\s*\n\s*/g, ' '))) out.push({ file, line, text: part });
    }
    paragraph = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const f = /^\s*(```|~~~)/.exec(line);
    if (f) {
      endParagraph();
      fence = fence === null ? f[1] : fence === f[1] ? null : fence;
      continue;
    }
    if (fence !== null) {
      let text = line;
      const start = i;
      while (/\\\s*$/.test(text) && i + 1 < lines.length) text = `${text.replace(/\\\s*$/, ' ')}${lines[++i]}`;
      for (const part of shellCommands(text)) out.push({ file, line: start + 1, text: part });
      continue;
    }
    if (line.trim() === '') endParagraph();
    else if (paragraph) paragraph.text += `\n${line}`;
    else paragraph = { start: i, text: line };
  }
  endParagraph();
  return out;
}

/**
 * The command each deploy/ image runs (its ENTRYPOINT), so that `docker run <image> <args>`
 * in the docs is checked as that command with those args. A test holds this to the Dockerfiles.
 */
export const IMAGE_ENTRYPOINTS: Record<string, string> = {
  'fedxray-hospital': 'fedxray hospital',
  'fedxray-hospital-gpu': 'fedxray hospital --backend gpu',
  'fedxray-coordinator': 'fedxray coordinator',
};

/**
 * The fedxray commands of one shell line: comments cut, split at `&&`, `;` and `|`; env
 * assignments, `$ ` prompts, `sudo -u x`, `npx` and a path before `fedxray` dropped;
 * `docker run … fedxray-<image>:<tag> <args>` read as the image's command with those args.
 */
export function shellCommands(line: string): string[] {
  const code = line.replace(/(^|\s)#.*$/, '');
  const found: string[] = [];
  for (const piece of code.split(/&&|;|\|/)) {
    if (/\bdocker\s+run\s/.test(piece)) {
      const image = [...piece.matchAll(/\b(fedxray-[a-z-]+):\S+/g)].find((m) => IMAGE_ENTRYPOINTS[m[1]]);
      if (image) found.push(`${IMAGE_ENTRYPOINTS[image[1]]}${piece.slice(image.index! + image[0].length)}`.replace(/\s+/g, ' ').trim());
      continue;
    }
    const m = /^\s*(?:\$\s+)?(?:sudo(?:\s+-u\s+\S+)?\s+)?(?:time\s+)?(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(?:npx\s+)?(?:\/\S*\/)?(fedxray\s.*)$/.exec(piece);
    if (m) found.push(m[1].replace(/\s+[12]?>.*$/, '').trim());
  }
  return found;
}

/**
 * The fedxray commands of a deploy file: a Dockerfile's ENTRYPOINT + CMD and the
 * examples in its comments; a systemd unit's ExecStart and the examples in its comments.
 */
export function deployCommands(text: string, file: string): DocCommand[] {
  const out: DocCommand[] = [];
  const lines = text.split('\n');
  let entry: { line: number; words: string[] } | null = null;
  let cmd: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    const start = i;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) line = `${line.replace(/\\\s*$/, ' ')}${lines[++i].replace(/^\s*#/, '')}`;
    const comment = /^\s*#\s?(.*)$/.exec(line);
    const exec = /^(ENTRYPOINT|CMD)\s+(\[.*\])\s*$/.exec(line);
    const execStart = /^ExecStart=(.*)$/.exec(line);
    const text = comment ? comment[1] : execStart ? execStart[1] : null;
    if (text !== null) for (const part of shellCommands(text)) out.push({ file, line: start + 1, text: part });
    if (exec) {
      const words = JSON.parse(exec[2]) as string[];
      if (exec[1] === 'ENTRYPOINT') entry = { line: start + 1, words };
      else cmd = words;
    }
  }
  if (entry && /(^|\/)fedxray$/.test(entry.words[0])) out.push({ file, line: entry.line, text: ['fedxray', ...entry.words.slice(1), ...cmd].join(' ') });
  return out;
}

/** Splits a command into words, honouring quotes. */
function words(text: string): string[] {
  return [...text.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

const PLACEHOLDER = /^(…|\.\.\.|<[^>]*>|\|)$/;

function findOption(cmd: Command, flag: string): Option | undefined {
  return cmd.options.find((o) => o.long === flag || o.short === flag);
}

function helpFlags(cmd: Command): string[] {
  const flags = ['--help', '-h'];
  if (!cmd.parent) flags.push('--version', '-V');
  return flags;
}

/** commander's default subcommand (`{ isDefault: true }`), if the command has one. */
function defaultSubcommand(cmd: Command): Command | undefined {
  const name = (cmd as unknown as { _defaultCommandName?: string })._defaultCommandName;
  return name ? cmd.commands.find((c) => c.name() === name) : undefined;
}

function path(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * What is wrong with one documented command, or [] if it is fine: an unknown
 * subcommand, or a flag its command does not define. Placeholders (`…`,
 * `<dir>`) are skipped and `[--flag value]` counts as the flag.
 */
export function checkCommand(program: Command, text: string): string[] {
  const problems: string[] = [];
  let cmd = program;
  let positional = 0;
  const tokens = words(text).slice(1);
  for (let i = 0; i < tokens.length; i++) {
    const raw = tokens[i];
    if (PLACEHOLDER.test(raw)) continue;
    const token = raw.replace(/^\[/, '').replace(/[\],.;:)]+$/, '');
    if (token.startsWith('-') && token.length > 1 && !/^-\d/.test(token)) {
      const [flag, inline] = token.split('=', 2);
      const option = findOption(cmd, flag) ?? (cmd.commands.length > 0 ? findOption(defaultSubcommand(cmd) ?? cmd, flag) : undefined);
      if (option && !findOption(cmd, flag)) cmd = defaultSubcommand(cmd)!;
      if (!option) {
        if (!helpFlags(cmd).includes(flag)) {
          problems.push(`\`${path(cmd)}\` has no option ${flag} (it has ${cmd.options.map((o) => o.long ?? o.short).join(', ') || 'none'})`);
        }
        continue;
      }
      // The option's value is the next word, unless given as --flag=value or the option takes none.
      if ((option.required || option.optional) && inline === undefined && !raw.endsWith(']')) i++;
      continue;
    }
    if (positional === 0 && cmd.commands.length > 0) {
      const sub = cmd.commands.find((c) => c.name() === token || c.aliases().includes(token));
      if (sub) {
        cmd = sub;
        continue;
      }
      const fallback = defaultSubcommand(cmd);
      if (!fallback) {
        problems.push(`\`${path(cmd)}\` has no subcommand ${token} (it has ${cmd.commands.map((c) => c.name()).join(', ')})`);
        return problems;
      }
      cmd = fallback;
    }
    positional++;
  }
  return problems;
}
