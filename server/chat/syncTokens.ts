/** Sync tokens are opaque to clients: base64url("<epoch>|<inbox position>"). */
export function encodeSyncToken(epoch: string, position: number): string {
  return Buffer.from(`${epoch}|${position}`).toString('base64url');
}

export function decodeSyncToken(token: string): { epoch: string; position: number } | undefined {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const bar = text.lastIndexOf('|');
  if (bar <= 0) return undefined;
  const position = Number(text.slice(bar + 1));
  if (!Number.isSafeInteger(position) || position < 0) return undefined;
  return { epoch: text.slice(0, bar), position };
}
