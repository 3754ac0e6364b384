/** What a socket.io-client disconnect reason means to the person reading the hospital's log. */
export function explainDisconnect(reason: string): string {
  switch (reason) {
    case 'io server disconnect':
      return 'the coordinator closed this connection';
    case 'transport close':
      return 'the connection closed: the coordinator stopped, or the network dropped it';
    case 'transport error':
      return 'the connection failed: the network dropped it';
    case 'ping timeout':
      return 'no word from the coordinator in time (ping timeout)';
    case 'parse error':
      return 'the coordinator sent something this hospital could not read';
    default:
      return reason;
  }
}
