// What docs/protocol.md documents, read from the doc itself: the server-to-client frame types,
// the error codes, the WebSocket close codes and the HTTP statuses. The fuzz suite holds the
// server to this, so a frame or code the doc does not name is a finding, and a code added to the
// server without a line in the doc fails the fuzz run until the doc says it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PROTOCOL_DOC_PATH = fileURLToPath(new URL('../docs/protocol.md', import.meta.url));

export interface DocumentedProtocol {
  /** `type` values of section 4's table ("Server to client frames"). */
  serverFrameTypes: ReadonlySet<string>;
  /** Codes of section 8's error tables (error frames and HTTP bodies), plus UNSUPPORTED_PROTOCOL, named there as an upgrade body code. */
  errorCodes: ReadonlySet<string>;
  /** Every close code section 8's "WebSocket close codes" names: its tables and the codes its text names (1006, 1007). */
  closeCodes: ReadonlySet<number>;
  /** HTTP statuses the doc names anywhere (status mapping, upgrade refusals, API table). */
  httpStatuses: ReadonlySet<number>;
}

/** Parses the doc; throws when a section it needs is missing (the doc changed shape: fix the parser with it). */
export function parseProtocolDoc(markdown: string): DocumentedProtocol {
  const frames = section(markdown, /^## 4\. Server to client frames/m, /^### /m);
  const serverFrameTypes = new Set(firstColumnCodes(frames));
  const errors = section(markdown, /^### Error codes/m, /^### WebSocket close codes/m);
  const errorCodes = new Set(firstColumnCodes(errors).filter((c) => /^[A-Z][A-Z_]+$/.test(c)));
  if (/`UNSUPPORTED_PROTOCOL` also appears as an error `code`/.test(errors)) errorCodes.add('UNSUPPORTED_PROTOCOL');
  const closes = section(markdown, /^### WebSocket close codes/m, /^## /m);
  const closeCodes = new Set([...closes.matchAll(/\b(1\d{3}|4\d{3})\b/g)].map((m) => Number(m[1])));
  // Ranges ("1000-1015", "4000-4999") are prose, not codes that are sent.
  for (const bound of [1015, 4000, 4999]) if (!new RegExp(`\\|\\s*${bound}\\s*\\|`).test(closes)) closeCodes.delete(bound);
  const httpStatuses = new Set<number>();
  for (const [start, end] of [[/^### Connecting/m, /^### /m], [/^## 8\. /m, /^## /m], [/^## 10\. /m, /^## /m]] as const) {
    for (const row of section(markdown, start, end).split('\n').filter((l) => l.startsWith('|'))) {
      for (const m of row.matchAll(/\b([1-5]\d{2})\b/g)) httpStatuses.add(Number(m[1]));
    }
  }
  if (serverFrameTypes.size === 0 || errorCodes.size === 0 || closeCodes.size === 0 || httpStatuses.size === 0) {
    throw new Error('docs/protocol.md: a table the fuzz suite reads (section 4 frames, section 8 codes) is missing or empty');
  }
  return { serverFrameTypes, errorCodes, closeCodes, httpStatuses };
}

let cached: DocumentedProtocol | undefined;

/** docs/protocol.md of this checkout, parsed once. */
export function documentedProtocol(): DocumentedProtocol {
  cached ??= parseProtocolDoc(readFileSync(PROTOCOL_DOC_PATH, 'utf8'));
  return cached;
}

/** The text from the heading matching `start` to the next match of `end` after it. */
function section(markdown: string, start: RegExp, end: RegExp): string {
  const from = markdown.search(start);
  if (from < 0) throw new Error(`docs/protocol.md has no section ${start.source}`);
  const bodyStart = markdown.indexOf('\n', from) + 1;
  const rest = markdown.slice(bodyStart);
  const to = rest.search(end);
  return to < 0 ? rest : rest.slice(0, to);
}

/** The back-quoted values in the first cell of each table body row (`| \`sent\` | ... |`; header rows skipped). */
function firstColumnCodes(text: string): string[] {
  const out: string[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const isHeader = /^\|\s*:?-{3,}/.test(lines[i + 1] ?? '');
    const cell = /^\|\s*`([^`]+)`\s*\|/.exec(line);
    if (cell && !isHeader) out.push(cell[1]!);
  });
  return out;
}
