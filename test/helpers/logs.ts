// The JSON log lines an app writes, kept in memory: pass `logStream` to buildApp/buildTestApp (with
// `logger: undefined` and a database whose log level lets the lines through) and read `lines`.
import { Writable } from 'node:stream';

export function capturedLogs(): { logStream: Writable; lines: string[] } {
  const lines: string[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logStream, lines };
}
