/** Structured logs: one JSON object per line, or a short human line. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(format: 'json' | 'pretty' | 'silent', write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  return {
    log(level, msg, fields = {}) {
      if (format === 'silent' || (level === 'debug' && !process.env.FEDXRAY_DEBUG)) return;
      if (format === 'json') {
        write(`${JSON.stringify({ ts: new Date().toISOString(), level, msg, ...fields })}\n`);
      } else {
        const extra = Object.entries(fields)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        write(`[${level}] ${msg}${extra ? ` ${extra}` : ''}\n`);
      }
    },
  };
}

export const silentLogger: Logger = { log() {} };
