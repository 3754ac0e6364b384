/** Number formatting shared by the Markdown report and the chart labels. */
export function fixed(value: number | undefined | null, digits = 4): string {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : '–';
}

export function percent(value: number | undefined | null, digits = 1): string {
  return typeof value === 'number' && Number.isFinite(value) ? `${(100 * value).toFixed(digits)}%` : '–';
}

/** Markdown table cell text: no pipes or line breaks. */
export function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * JSON with two-space indentation, except that arrays of numbers stay on one
 * line (a summary's histograms would otherwise take a line per bin). NaN and
 * infinities are written as null, as JSON.stringify does.
 */
export function toJson(value: unknown, indent = ''): string {
  if (value === null || value === undefined || typeof value !== 'object') {
    const s = JSON.stringify(value);
    return s === undefined ? 'null' : s;
  }
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every((v) => typeof v === 'number' || v === null)) return JSON.stringify(value);
    return `[\n${value.map((v) => inner + toJson(v, inner)).join(',\n')}\n${indent}]`;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return JSON.stringify(value);
  const entries = Object.entries(value).filter(([, v]) => v !== undefined && typeof v !== 'function');
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${toJson(v, inner)}`).join(',\n')}\n${indent}}`;
}
