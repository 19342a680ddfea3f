// Controller entries for membership tests: valid peer ID texts and endpoints from a small number.
import type { ControllerEntry } from '../../membership/federation-members.ts';

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** A base58btc peer ID text, distinct for each `i` below a million. */
export const peerId = (i: number): string => `12D3KooW${[...String(i).padStart(6, '0')].map((d) => B58[Number(d) + 10]).join('')}`.padEnd(52, 'x');

/** A controller named `name` with peer ID and port from `i`. */
export const entry = (name: string, i: number): ControllerEntry =>
  ({ name, peerId: peerId(i), endpoints: [`/ip4/127.0.0.1/tcp/${9000 + i}`], region: '', autoPromote: true });
