import { prettyLine } from './log-format';

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
        write(`${prettyLine(level, msg, fields)}\n`);
      }
    },
  };
}

export const silentLogger: Logger = { log() {} };
