// How many bytes a message takes on the wire: its binary attachments plus the
// JSON of everything else (how socket.io sends a message with binary parts).

/** Bytes of `msg` as socket.io would send it: binary fields as attachments, the rest as JSON. */
export function wireBytes(msg: unknown): number {
  let binary = 0;
  const json = JSON.stringify(msg, (_key, value: unknown) => {
    if (value instanceof Uint8Array) {
      binary += value.length;
      return { _placeholder: true, num: 0 };
    }
    return value;
  });
  return binary + Buffer.byteLength(json ?? '', 'utf8');
}
