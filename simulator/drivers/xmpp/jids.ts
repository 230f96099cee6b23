// JIDs (RFC 7622) as the XMPP driver reads them.

/** The bare JID (no resource), lower-cased. */
export function bare(jid: string): string {
  return jid.split('/')[0]!.toLowerCase();
}

/** The local part of a JID (its user), lower-cased. */
export function localPart(jid: string): string {
  return bare(jid).split('@')[0]!;
}
